/*
 * vm/lib_math.c - numeric functions and constants: sqrt, sin, ..., round,
 * pown, sign; System.Math's methods (Math.Sqrt, Math.Max, ...) and
 * constants (Math.PI); Int32.MaxValue and friends; infinity and nan.
 *
 * The functions are natives in one table (lib_math_table), found by name
 * through builtin_lookup; the constants are found by the compiler through
 * builtin_constant and become constants of the chunk.  Each function runs
 * on the thread of the VM that calls it; the tables are read-only.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "lang/compile.h"
#include "vm/vm.h"

#define ARGS fsrs_vm *vm, const Value *a, int argc, Value *out, void *ud
#define UNUSED (void)argc, (void)ud

static double need_float(fsrs_vm *vm, Value v, const char *fn)
{
    if (!IS_FLOAT(v))
        vm_throw(vm, FSRS_ERUNTIME, "'%s' expects a float, not %s", fn, value_type_name(v));
    return AS_FLOAT(v);
}

/* The two items of a tupled .NET method argument: Math.Max(a, b). */
static void pair_args(fsrs_vm *vm, Value v, Value *x, Value *y, const char *fn)
{
    if (!IS_TUPLE(v) || AS_TUPLE(v)->n != 2)
        vm_throw(vm, FSRS_ERUNTIME, "'%s' expects two arguments, not %s", fn,
                 value_type_name(v));
    *x = AS_TUPLE(v)->items[0];
    *y = AS_TUPLE(v)->items[1];
}

#define FLOAT_FN(cname, fname, expr)                                                          \
    static int cname(ARGS)                                                                   \
    {                                                                                        \
        UNUSED;                                                                              \
        double x = need_float(vm, a[0], fname);                                              \
        *out = mk_float(expr);                                                               \
        return 0;                                                                            \
    }

FLOAT_FN(m_sqrt, "sqrt", sqrt(x))
FLOAT_FN(m_sin, "sin", sin(x))
FLOAT_FN(m_cos, "cos", cos(x))
FLOAT_FN(m_tan, "tan", tan(x))
FLOAT_FN(m_asin, "asin", asin(x))
FLOAT_FN(m_acos, "acos", acos(x))
FLOAT_FN(m_atan, "atan", atan(x))
FLOAT_FN(m_sinh, "sinh", sinh(x))
FLOAT_FN(m_cosh, "cosh", cosh(x))
FLOAT_FN(m_tanh, "tanh", tanh(x))
FLOAT_FN(m_exp, "exp", exp(x))
FLOAT_FN(m_log, "log", log(x))
FLOAT_FN(m_log10, "log10", log10(x))
FLOAT_FN(m_floor, "floor", floor(x))
FLOAT_FN(m_ceil, "ceil", ceil(x))
FLOAT_FN(m_truncate, "truncate", trunc(x))
/* .NET rounds half to even (banker's rounding), as does rint in the
 * default rounding mode; nearbyint never raises FE_INEXACT */
FLOAT_FN(m_round, "round", nearbyint(x))

static int m_atan2(ARGS)
{
    UNUSED;
    *out = mk_float(atan2(need_float(vm, a[0], "atan2"), need_float(vm, a[1], "atan2")));
    return 0;
}

/* pown x n: x to the int power n, by squaring (ints wrap as in F#) */
static int m_pown(ARGS)
{
    UNUSED;
    if (!IS_INT(a[1]))
        vm_throw(vm, FSRS_ERUNTIME, "'pown' expects an int exponent, not %s",
                 value_type_name(a[1]));
    int64_t n = AS_INT(a[1]);
    if (IS_FLOAT(a[0])) {
        double b = AS_FLOAT(a[0]), r = 1;
        uint64_t e = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;
        for (; e; e >>= 1, b *= b)
            if (e & 1)
                r *= b;
        *out = mk_float(n < 0 ? 1 / r : r);
        return 0;
    }
    if (!IS_INT(a[0]))
        vm_throw(vm, FSRS_ERUNTIME, "'pown' expects a number, not %s", value_type_name(a[0]));
    int64_t x = AS_INT(a[0]);
    if (n < 0) {
        /* 1 / x^|n| in integers */
        if (x == 0)
            vm_throw_exn(vm, EXN_DIVIDE_BY_ZERO, "Attempted to divide by zero.",
                         "division by zero");
        *out = mk_int(x == 1 ? 1 : x == -1 ? ((n & 1) ? -1 : 1) : 0);
        return 0;
    }
    uint64_t b = (uint64_t)x, r = 1;
    for (uint64_t e = (uint64_t)n; e; e >>= 1, b *= b)
        if (e & 1)
            r *= b;
    *out = mk_int((int64_t)r);
    return 0;
}

static int m_sign(ARGS)
{
    UNUSED;
    if (IS_INT(a[0])) {
        *out = mk_int(AS_INT(a[0]) > 0 ? 1 : AS_INT(a[0]) < 0 ? -1 : 0);
        return 0;
    }
    double x = need_float(vm, a[0], "sign");
    if (isnan(x))
        vm_throw_exn(vm, EXN_FAILURE, "Function does not accept floating point Not-a-Number "
                                      "values.",
                     "Function does not accept floating point Not-a-Number values.");
    *out = mk_int(x > 0 ? 1 : x < 0 ? -1 : 0);
    return 0;
}

/* ---------------------------------------------------- System.Math --- */

static int m_max2(ARGS)
{
    UNUSED;
    Value x, y;
    pair_args(vm, a[0], &x, &y, "Math.Max");
    *out = vm_compare(vm, x, y) >= 0 ? x : y;
    return 0;
}

static int m_min2(ARGS)
{
    UNUSED;
    Value x, y;
    pair_args(vm, a[0], &x, &y, "Math.Min");
    *out = vm_compare(vm, x, y) <= 0 ? x : y;
    return 0;
}

static int m_pow2(ARGS)
{
    UNUSED;
    Value x, y;
    pair_args(vm, a[0], &x, &y, "Math.Pow");
    *out = mk_float(pow(need_float(vm, x, "Math.Pow"), need_float(vm, y, "Math.Pow")));
    return 0;
}

static int m_atan2_tupled(ARGS)
{
    UNUSED;
    Value x, y;
    pair_args(vm, a[0], &x, &y, "Math.Atan2");
    *out = mk_float(atan2(need_float(vm, x, "Math.Atan2"), need_float(vm, y, "Math.Atan2")));
    return 0;
}

static int m_abs(ARGS)
{
    UNUSED;
    if (IS_INT(a[0]))
        *out = mk_int(AS_INT(a[0]) < 0 ? (int64_t)(0 - (uint64_t)AS_INT(a[0])) : AS_INT(a[0]));
    else
        *out = mk_float(fabs(need_float(vm, a[0], "Math.Abs")));
    return 0;
}

/* the same natives under F#'s names and System.Math's */
#define BOTH(fsname, netname, ar, cname)                                                      \
    VM_NATIVE(fsname, ar, cname), VM_NATIVE("Math." netname, ar, cname),                      \
        VM_NATIVE("System.Math." netname, ar, cname)

static const ObjNative natives[] = {
    BOTH("sqrt", "Sqrt", 1, m_sqrt),     BOTH("sin", "Sin", 1, m_sin),
    BOTH("cos", "Cos", 1, m_cos),        BOTH("tan", "Tan", 1, m_tan),
    BOTH("asin", "Asin", 1, m_asin),     BOTH("acos", "Acos", 1, m_acos),
    BOTH("atan", "Atan", 1, m_atan),     BOTH("sinh", "Sinh", 1, m_sinh),
    BOTH("cosh", "Cosh", 1, m_cosh),     BOTH("tanh", "Tanh", 1, m_tanh),
    BOTH("exp", "Exp", 1, m_exp),        BOTH("log", "Log", 1, m_log),
    BOTH("log10", "Log10", 1, m_log10),  BOTH("floor", "Floor", 1, m_floor),
    BOTH("ceil", "Ceiling", 1, m_ceil),  BOTH("truncate", "Truncate", 1, m_truncate),
    BOTH("round", "Round", 1, m_round),
    VM_NATIVE("atan2", 2, m_atan2),      VM_NATIVE("pown", 2, m_pown),
    VM_NATIVE("sign", 1, m_sign),        VM_NATIVE("Math.Sign", 1, m_sign),
    VM_NATIVE("System.Math.Sign", 1, m_sign),
    VM_NATIVE("Math.Max", 1, m_max2),    VM_NATIVE("System.Math.Max", 1, m_max2),
    VM_NATIVE("Math.Min", 1, m_min2),    VM_NATIVE("System.Math.Min", 1, m_min2),
    VM_NATIVE("Math.Pow", 1, m_pow2),    VM_NATIVE("System.Math.Pow", 1, m_pow2),
    VM_NATIVE("Math.Atan2", 1, m_atan2_tupled), VM_NATIVE("System.Math.Atan2", 1, m_atan2_tupled),
    VM_NATIVE("Math.Abs", 1, m_abs),     VM_NATIVE("System.Math.Abs", 1, m_abs),
};

const NativeTable lib_math_table = VM_NATIVE_TABLE(natives);

/* ----------------------------------------------------------- constants --- */

typedef struct Constant {
    const char *name;
    bool is_float;
    double f;
    int64_t i;
} Constant;

static const Constant constants[] = {
    {"infinity", true, HUGE_VAL, 0},
    {"nan", true, NAN, 0},
    {"Math.PI", true, 3.14159265358979323846, 0},
    {"Math.E", true, 2.71828182845904523536, 0},
    {"Math.Tau", true, 6.28318530717958647692, 0},
    {"Int32.MaxValue", false, 0, INT32_MAX},
    {"Int32.MinValue", false, 0, INT32_MIN},
    {"Int64.MaxValue", false, 0, INT64_MAX},
    {"Int64.MinValue", false, 0, INT64_MIN},
    {"Double.MaxValue", true, DBL_MAX, 0},
    {"Double.MinValue", true, -DBL_MAX, 0},
    {"Double.Epsilon", true, 4.9406564584124654e-324, 0},
    {"Double.PositiveInfinity", true, HUGE_VAL, 0},
    {"Double.NegativeInfinity", true, -HUGE_VAL, 0},
    {"Double.NaN", true, NAN, 0},
};

bool builtin_constant(const char *name, Value *out)
{
    if (strncmp(name, "System.", 7) == 0)
        name += 7;
    for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++)
        if (strcmp(constants[i].name, name) == 0) {
            *out = constants[i].is_float ? mk_float(constants[i].f) : mk_int(constants[i].i);
            return true;
        }
    return false;
}
