/*
 * cli/cli.h - pieces shared by the `fsrs` subcommands (main thread only).
 */
#ifndef FSRS_CLI_CLI_H
#define FSRS_CLI_CLI_H

/* Print source line `line` of `path` with a caret under column col. */
void cli_show_caret(const char *path, int line, int col);

/* fsrs watch PATH [--entry NAME] [--debounce MS] [--json] */
int cli_watch(int argc, char **argv);

#endif
