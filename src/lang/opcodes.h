/*
 * lang/opcodes.h - the bytecode instruction set.
 *
 * Code is an array of 32-bit words.  A word holds the opcode in its low 8
 * bits and an operand A in its high 24 bits (unsigned, or signed for jumps
 * and small ints: hence the 2^23 limits on jumps, constants per function,
 * locals and globals).  Instructions marked [+1] take one extra word B.
 * Jump offsets are relative to the word after the instruction (all words).
 * The machine is a stack machine: locals are stack slots above the frame
 * base (base[-1] holds the running function, base[0..arity) the arguments).
 * Shared by the compiler, the disassembler and the VM.
 */
#ifndef FSRS_LANG_OPCODES_H
#define FSRS_LANG_OPCODES_H

#include <stdint.h>

/*  name            operands      effect */
#define FSRS_OPCODES(X) \
    X(CONST,        "k")       /* push K[A] */ \
    X(INT,          "i")       /* push int A (signed 24-bit) */ \
    X(UNIT,         "")        /* push () */ \
    X(TRUE,         "")        /* push true */ \
    X(FALSE,        "")        /* push false */ \
    X(NIL,          "")        /* push [] */ \
    X(LOCAL,        "s")       /* push base[A] */ \
    X(SETLOCAL,     "s")       /* base[A] = pop */ \
    X(CAPTURE,      "u")       /* push captured value A of the running closure */ \
    X(SELF,         "")        /* push the running closure (let rec) */ \
    X(GLOBAL,       "g")       /* push global A */ \
    X(SETGLOBAL,    "g")       /* global A = pop */ \
    X(BUILTIN,      "b")       /* push builtin function A */ \
    X(HOST,         "h")       /* push host function A (bound at load) */ \
    X(POP,          "")        /* drop the top */ \
    X(DUP,          "")        /* push a copy of the top */ \
    X(SLIDE,        "u")       /* v = pop; drop A more; push v */ \
    X(SETTOP,       "s")       /* sp = base + A */ \
    X(RESERVE,      "u")       /* push A units (slots for pattern variables) */ \
    X(JUMP,         "j")       /* ip += A */ \
    X(LOOP,         "j")       /* ip += A (a backward jump): counts one tick of the \
                                  instruction budget and polls for an interrupt */ \
    X(JUMP_IF_FALSE,"j")       /* if not pop: ip += A */ \
    X(JUMP_IF_TRUE, "j")       /* if pop: ip += A */ \
    X(ADD,          "")        /* b = pop; a = pop; push a + b (ints, floats, strings) */ \
    X(SUB,          "") \
    X(MUL,          "") \
    X(DIV,          "")        /* int division by zero raises */ \
    X(MOD,          "") \
    X(POW,          "")        /* floats */ \
    X(NEG,          "") \
    X(NOT,          "") \
    X(EQ,           "")        /* structural */ \
    X(NE,           "") \
    X(LT,           "") \
    X(LE,           "") \
    X(GT,           "") \
    X(GE,           "") \
    X(CONS,         "")        /* t = pop; h = pop; push h :: t */ \
    X(APPEND,       "")        /* b = pop; a = pop; push a @ b */ \
    X(TUPLE,        "u")       /* pop A items; push the tuple */ \
    X(LIST,         "u")       /* pop A items; push the list */ \
    X(RANGE,        "u")       /* A=0: hi, lo -> [lo..hi]; A=1: lo, step, hi */ \
    X(CLOSURE,      "p")       /* push a closure of proto A, capturing per its table */ \
    X(SETCAP,       "s+")      /* closure at base[A]: cap[B >> 16] = base[B & 0xFFFF] */ \
    X(CALL,         "n")       /* callee and A args on the stack -> result */ \
    X(TAILCALL,     "n")       /* same, reusing the frame */ \
    X(RETURN,       "")        /* return the top */ \
    X(FORMAT,       "n+")      /* B = kind<<24 | K index: format A args -> result */ \
    X(FORMAT_FN,    "n+")      /* push a function of A args that formats with B */ \
    X(TEST_NIL,     "j")       /* if pop is not []: ip += A */ \
    X(TEST_CONS,    "j")       /* if pop is not a cons: ip += A */ \
    X(TEST_EQ,      "j+")      /* if pop <> K[B]: ip += A */ \
    X(HEAD,         "")        /* push head of pop (a cons) */ \
    X(TAIL,         "")        /* push tail of pop (a cons) */ \
    X(FIELD,        "u")       /* push item A of pop (a tuple) */ \
    X(MATCH_FAIL,   "")        /* raise "incomplete match" */ \
    X(ADDI,         "i")       /* top += A (ints) */ \
    X(LT_JUMP,      "j")       /* b = pop; a = pop; if not a < b: ip += A */ \
    X(EQI_JUMP,     "j+")      /* a = pop; if a <> int B: ip += A */ \
    X(LOCAL2,       "2")       /* push base[A & 0xFFF], then base[A >> 12] */ \
    X(LOCAL_ADDI,   "2")       /* push base[A & 0xFFF] + (signed 12-bit A >> 12) */ \
    X(ADD_LL,       "2")       /* push base[A & 0xFFF] + base[A >> 12] */ \
    X(LOCAL_EQI_JUMP, "j+")    /* if base[B >> 16] <> int (signed 16-bit B): ip += A */ \
    X(LOCAL_LTI_JUMP, "j+")    /* if not base[B >> 16] < int (signed 16-bit B): ip += A */ \
    /* loops; the counter of a numeric for is base[B >> 16], its limit the \
       slot above, its step the signed 16-bit B (never 0) */ \
    X(FOR_PREP,     "j+")      /* counter and limit must be ints; if the counter \
                                  is already past the limit: ip += A */ \
    X(FOR_LOOP,     "j+")      /* tick as LOOP; if the counter can take one more \
                                  step without passing the limit: counter += \
                                  step, ip += A (backward) */ \
    X(FOR_LIST,     "j+")      /* l = base[B], a list: if l = []: ip += A; else \
                                  push head l, base[B] = tail l */ \
    X(TAILSELF,     "n")       /* the running function calls itself in tail position
                                  with its arity A: args -> base[0..A), restart */ \
    /* records and unions; K[B] is the Shape of a record type or union case */ \
    X(DATA,         "n+")      /* pop A fields; push a new value of shape K[B] */ \
    X(GETFIELD,     "u+")      /* r = pop; push field A of r, a record of shape K[B] \
                                  (other shapes: the field of the same name) */ \
    X(COPY,         "")        /* r = pop (a record); push a fresh copy of r */ \
    X(SETFIELD,     "u+")      /* v = pop; field A of the top (a fresh COPY, shape \
                                  K[B]; other shapes: by name) = v */ \
    X(TEST_TAG,     "j+")      /* if pop is not a union value of case tag B: ip += A */ \
    X(CASEFIELD,    "u")       /* push field A of pop (a union value whose tag was \
                                  just tested) */ \
    /* exceptions */ \
    X(TRY,          "j")       /* enter a try: an exception raised before the \
                                  matching ENDTRY resets the stack to its height \
                                  here, pushes the exception, and goes to ip + A */ \
    X(ENDTRY,       "")        /* leave the innermost try normally */ \
    X(RERAISE,      "")        /* raise the exception on top again (where it was \
                                  first raised, if it is the one last caught) */ \
    X(MEMBER,       "n+")      /* pop A arguments and the receiver below them; push \
                                  receiver.M(arguments), M the member id B \
                                  (vm/member.h), chosen by the receiver's type */

typedef enum OpCode {
#define X(name, fmt) OP_##name,
    FSRS_OPCODES(X)
#undef X
    OP__COUNT
} OpCode;

#define INSTR(op, a) ((uint32_t)(op) | ((uint32_t)(a) << 8))
#define INSTR_OP(w)  ((w) & 0xFF)
#define INSTR_A(w)   ((w) >> 8)
#define INSTR_SA(w)  ((int32_t)(w) >> 8) /* signed operand */
#define OPERAND_MAX  ((1 << 23) - 1)

/* format kinds (FORMAT's B >> 24) */
enum { FMT_PRINTF, FMT_PRINTFN, FMT_SPRINTF, FMT_FAILWITHF, FMT_EPRINTF, FMT_EPRINTFN };

const char *op_name(int op);
const char *op_operands(int op);

#endif
