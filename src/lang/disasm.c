/*
 * lang/disasm.c - human-readable listings of a chunk's bytecode
 * (`fsrs disasm`).  Reads an immutable chunk: any thread.
 */
#include <stdio.h>
#include <string.h>

#include "lang/chunk.h"
#include "lang/opcodes.h"
#include "util/mem.h"

static const char *const names[] = {
#define X(name, fmt) #name,
    FSRS_OPCODES(X)
#undef X
};

static const char *const formats[] = {
#define X(name, fmt) fmt,
    FSRS_OPCODES(X)
#undef X
};

const char *op_name(int op) { return op >= 0 && op < OP__COUNT ? names[op] : "?"; }
const char *op_operands(int op) { return op >= 0 && op < OP__COUNT ? formats[op] : ""; }

static void show_const(Buf *b, Value v)
{
    char tmp[64];
    fsrs_value_format(v, tmp, sizeof tmp);
    buf_puts(b, tmp);
}

static void disasm_proto(Buf *b, const fsrs_chunk *c, const Proto *p, uint32_t index)
{
    buf_printf(b, "function %u '%s' (line %d, arity %u, %u captures, stack %u)\n", index,
               p->name, p->line, p->arity, p->ncaps, p->maxstack);
    for (uint32_t i = 0; i < p->ncaps; i++)
        buf_printf(b, "  capture %u <- %s %u\n", i,
                   p->caps[i].kind == CAP_LOCAL ? "local" : p->caps[i].kind == CAP_SELF ? "self" : "capture",
                   p->caps[i].index);
    uint32_t last_line = 0;
    for (uint32_t pc = 0; pc < p->ncode; pc++) {
        uint32_t w = p->code[pc];
        int op = (int)INSTR_OP(w);
        const char *fmt = op_operands(op);
        if (p->lines[pc] != last_line)
            buf_printf(b, "%5u ", p->lines[pc]);
        else
            buf_puts(b, "    | ");
        last_line = p->lines[pc];
        buf_printf(b, "%04u  %-16s", pc, op_name(op));
        bool extra = strchr(fmt, '+') != NULL;
        uint32_t B = extra && pc + 1 < p->ncode ? p->code[pc + 1] : 0;
        switch (fmt[0]) {
        case 'k':
            buf_printf(b, "%u  ; ", INSTR_A(w));
            if (INSTR_A(w) < p->nconsts)
                show_const(b, p->consts[INSTR_A(w)]);
            break;
        case 'i':
            buf_printf(b, "%d", INSTR_SA(w));
            break;
        case '2':
            if (op == OP_LOCAL_ADDI)
                buf_printf(b, "%u %+d", INSTR_A(w) & 0xFFF, (int32_t)w >> 20);
            else
                buf_printf(b, "%u %u", INSTR_A(w) & 0xFFF, INSTR_A(w) >> 12);
            break;
        case 'j':
            buf_printf(b, "%d  ; -> %04d", INSTR_SA(w),
                       (int)pc + 1 + (extra ? 1 : 0) + INSTR_SA(w));
            break;
        case 'g':
            buf_printf(b, "%u  ; %s", INSTR_A(w),
                       INSTR_A(w) < c->nglobals ? c->globals[INSTR_A(w)] : "?");
            break;
        case 'h':
            buf_printf(b, "%u  ; %s", INSTR_A(w), INSTR_A(w) < c->nhosts ? c->hosts[INSTR_A(w)] : "?");
            break;
        case 'p':
            buf_printf(b, "%u  ; %s", INSTR_A(w),
                       INSTR_A(w) < c->nprotos ? c->protos[INSTR_A(w)]->name : "?");
            break;
        case '\0':
            break;
        default:
            buf_printf(b, "%u", INSTR_A(w));
            break;
        }
        if (extra) {
            if (op == OP_FORMAT || op == OP_FORMAT_FN) {
                buf_printf(b, "  kind %u  ; ", B >> 24);
                if ((B & 0xFFFFFF) < p->nconsts)
                    show_const(b, p->consts[B & 0xFFFFFF]);
            } else if (op == OP_DATA || op == OP_GETFIELD || op == OP_SETFIELD) {
                buf_printf(b, "  ; ");
                if (B < p->nconsts)
                    show_const(b, p->consts[B]);
                if (op != OP_DATA && B < p->nconsts && IS_OBJTYPE(p->consts[B], O_SHAPE) &&
                    INSTR_A(w) < AS_SHAPE(p->consts[B])->nfields)
                    buf_printf(b, ".%s", AS_SHAPE(p->consts[B])->fields[INSTR_A(w)]);
            } else if (op == OP_TEST_TAG) {
                buf_printf(b, "  tag %u", B);
            } else if (op == OP_TEST_EQ) {
                buf_printf(b, "  ; ");
                if (B < p->nconsts)
                    show_const(b, p->consts[B]);
            } else if (op == OP_LOCAL_EQI_JUMP || op == OP_LOCAL_LTI_JUMP) {
                buf_printf(b, "  slot %u %s %d", B >> 16, op == OP_LOCAL_EQI_JUMP ? "=" : "<",
                           (int16_t)(B & 0xFFFF));
            } else if (op == OP_FOR_PREP || op == OP_FOR_LOOP) {
                buf_printf(b, "  slot %u step %d", B >> 16, (int16_t)(B & 0xFFFF));
            } else if (op == OP_FOR_LIST) {
                buf_printf(b, "  slot %u", B);
            } else if (op == OP_SETCAP) {
                buf_printf(b, "  cap %u <- slot %u", B >> 16, B & 0xFFFF);
            } else {
                buf_printf(b, "  %d", (int32_t)B);
            }
            pc++;
        }
        buf_putc(b, '\n');
    }
    buf_putc(b, '\n');
}

void fsrs_chunk_disasm(const fsrs_chunk *chunk, fsrs_output_fn out, void *userdata)
{
    if (!chunk || !out)
        return;
    Buf b;
    buf_init(&b, &chunk->mem); /* the allocator the chunk was made with */
    buf_printf(&b, "chunk '%s': %u functions, %u globals\n\n", chunk->name, chunk->nprotos,
               chunk->nglobals);
    for (uint32_t i = 0; i < chunk->nprotos; i++) {
        disasm_proto(&b, chunk, chunk->protos[i], i);
        if (b.len > 32768) {
            out(b.data, b.len, userdata);
            b.len = 0;
        }
    }
    if (b.len)
        out(b.data, b.len, userdata);
    buf_free(&b);
}
