/* Smallest host program: create a VM with the default configuration and
 * free it.  Exits 0 on success. */
#include <stdio.h>

#include <fsrs/fsrs.h>

int main(void)
{
    fsrs_config cfg;
    fsrs_vm *vm = NULL;

    fsrs_config_init(&cfg);
    int rc = fsrs_vm_new(&cfg, &vm);
    if (rc != FSRS_OK || vm == NULL) {
        fprintf(stderr, "fsrs_vm_new failed: %d\n", rc);
        return 1;
    }
    fsrs_vm_free(vm);
    printf("fsrs %s: ok\n", FSRS_VERSION_STRING);
    return 0;
}
