/* Shortest round-trip text of binary32 and binary64 numbers.
 *
 * How: for a precision p the nearest p-digit decimal D*10^k of the value is
 * computed by one scaling in long double, and whether it reads back to the
 * same bits is checked by one multiplication or division, again in a wider
 * type; both are exact in the cases taken (below), every other case goes to
 * printf("%.*e") / strtod, which are exact and slow.
 *
 * Shortest: any decimal of at most DBL_DIG (FLT_DIG) significant digits
 * survives the trip decimal -> binary -> nearest decimal of that many digits.
 * So if some decimal of <= 15 digits reads back to v, the nearest 15-digit
 * decimal of v is that decimal padded with zeros: the first check is at 15
 * digits (6 for binary32), trailing zeros dropped; then 16 and 17 (7, 8, 9).
 * The nearest 17-digit (9-digit) decimal always reads back. Subnormals hold
 * fewer digits: there every precision from 1 up is tried.
 *
 * Exactness of the fast steps:
 * - The candidate: x = v * 10^s with |s| <= 27 (10^27 is exact in a 64-bit
 *   mantissa) is rounded once, so |x - exact| <= x * 2^-64. Its nearest
 *   integer is taken only when the fraction is farther than that from 1/2;
 *   otherwise printf decides.
 * - The check, binary32: D < 10^9 and 10^|k| (|k| <= 22) are exact doubles; a
 *   double product or quotient rounded to float is the correctly rounded
 *   float, as 53 >= 2 * 24 + 2 (double rounding is innocuous then, Figueroa
 *   1995). The range |k| <= 22 keeps results out of the subnormal floats.
 * - The check, binary64: D < 10^17 and 10^|k| (|k| <= 27) are exact long
 *   doubles; the product or quotient rounded to long double and then to
 *   double differs from the direct rounding only when the long double lands
 *   exactly on a halfway point between doubles (those points are long
 *   doubles themselves, and rounding is monotonic): that case goes to strtod.
 *   Where long double has less than a 64-bit mantissa, strtod always. */
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tag/num_text.h"

static const double pow10_d[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
static const long double pow10_ld[] = {1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,
                                       1e10L, 1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L,
                                       1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};
static const uint64_t pow10_u[] = {1ULL,
                                   10ULL,
                                   100ULL,
                                   1000ULL,
                                   10000ULL,
                                   100000ULL,
                                   1000000ULL,
                                   10000000ULL,
                                   100000000ULL,
                                   1000000000ULL,
                                   10000000000ULL,
                                   100000000000ULL,
                                   1000000000000ULL,
                                   10000000000000ULL,
                                   100000000000000ULL,
                                   1000000000000000ULL,
                                   10000000000000000ULL,
                                   100000000000000000ULL};

#define LD_TABLE_MAX 27
#define D_TABLE_MAX  22

/* digits * 10^exp */
typedef struct decimal {
    uint64_t digits;
    int exp;
} decimal;

size_t num_text_u64(uint64_t v, char *out)
{
    /* Two digits per division (a 13-digit millisecond time is 7, not 13):
     * every JSON tag carries one or two of these. */
    static const char pairs[201] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                   "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                   "8081828384858687888990919293949596979899";
    char tmp[24];
    size_t n = sizeof tmp;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        tmp[--n] = pairs[2 * (size_t)r + 1];
        tmp[--n] = pairs[2 * (size_t)r];
    }
    if (v >= 10) {
        tmp[--n] = pairs[2 * v + 1];
        tmp[--n] = pairs[2 * v];
    } else {
        tmp[--n] = (char)('0' + v);
    }
    memcpy(out, tmp + n, sizeof tmp - n);
    return sizeof tmp - n;
}

/* The nearest p-digit decimal of a (> 0) through printf, which is exact. */
static void nearest_exact(double a, int p, decimal *d)
{
    char buf[48];
    snprintf(buf, sizeof buf, "%.*e", p - 1, a);
    uint64_t digits = 0;
    const char *s = buf;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9') digits = digits * 10 + (uint64_t)(*s - '0');
    d->digits = digits;
    d->exp = (*s ? (int)strtol(s + 1, NULL, 10) : 0) - (p - 1);
}

/* The nearest p-digit decimal of a (> 0); *e10 is the guess of
 * floor(log10(a)), corrected here for the next precision. */
static void nearest(double a, int p, int *e10, decimal *d)
{
    for (int tries = 0; tries < 4; tries++) {
        int s = p - 1 - *e10;
        if (s > LD_TABLE_MAX || s < -LD_TABLE_MAX) break;
        long double x = s >= 0 ? (long double)a * pow10_ld[s] : (long double)a / pow10_ld[-s];
        long double whole = floorl(x), frac = x - whole;
        if (fabsl(frac - 0.5L) <= x * 0x1p-62L) break; /* too close to 1/2 to call here */
        /* The guess is right when x is in [10^(p-1), 10^p); log10 may be off by one near powers of ten. */
        if (whole >= (long double)pow10_u[p]) {
            ++*e10;
            continue;
        }
        if (whole < (long double)pow10_u[p - 1]) {
            --*e10;
            continue;
        }
        uint64_t digits = (uint64_t)whole + (frac > 0.5L);
        if (digits == pow10_u[p]) { /* 99.96 -> 100.0 */
            d->digits = pow10_u[p - 1];
            d->exp = 1 - s;
        } else {
            d->digits = digits;
            d->exp = -s;
        }
        return;
    }
    nearest_exact(a, p, d);
}

static size_t write_decimal(bool negative, decimal d, char *out)
{
    while (d.digits % 10 == 0) {
        d.digits /= 10;
        d.exp++;
    }
    char dig[24];
    size_t n = num_text_u64(d.digits, dig);
    int x = d.exp + (int)n - 1; /* the exponent in scientific notation */
    char *p = out;
    if (negative) *p++ = '-';
    if (x >= -5 && x < 21) {
        if (x < 0) {
            *p++ = '0';
            *p++ = '.';
            for (int i = 0; i < -x - 1; i++)
                *p++ = '0';
            memcpy(p, dig, n);
            p += n;
        } else if ((size_t)x >= n - 1) {
            memcpy(p, dig, n);
            p += n;
            for (size_t i = 0; i < (size_t)x - (n - 1); i++)
                *p++ = '0';
        } else {
            size_t whole = (size_t)x + 1;
            memcpy(p, dig, whole);
            p += whole;
            *p++ = '.';
            memcpy(p, dig + whole, n - whole);
            p += n - whole;
        }
    } else {
        *p++ = dig[0];
        if (n > 1) {
            *p++ = '.';
            memcpy(p, dig + 1, n - 1);
            p += n - 1;
        }
        *p++ = 'e';
        *p++ = x < 0 ? '-' : '+';
        unsigned ax = (unsigned)(x < 0 ? -x : x);
        if (ax >= 100) {
            *p++ = (char)('0' + ax / 100);
            ax %= 100;
        }
        *p++ = (char)('0' + ax / 10);
        *p++ = (char)('0' + ax % 10);
    }
    *p = '\0';
    return (size_t)(p - out);
}

/* Does d read back to a? 1 yes, 0 no, -1 cannot tell here. */
static int reads_back_f32(decimal d, float a)
{
    if (d.exp > D_TABLE_MAX || d.exp < -D_TABLE_MAX) return -1;
    double x = d.exp >= 0 ? (double)d.digits * pow10_d[d.exp] : (double)d.digits / pow10_d[-d.exp];
    return (float)x == a;
}

static int reads_back_f64(decimal d, double a)
{
#if LDBL_MANT_DIG >= 64
    if (d.exp > LD_TABLE_MAX || d.exp < -LD_TABLE_MAX) return -1;
    long double x = d.exp >= 0 ? (long double)d.digits * pow10_ld[d.exp] : (long double)d.digits / pow10_ld[-d.exp];
#if LDBL_MANT_DIG < 2 * DBL_MANT_DIG + 2
    int ex;
    uint64_t m = (uint64_t)ldexpl(frexpl(x, &ex), 64);
    if ((m & 0x7FFu) == 0x400u) return -1; /* on a halfway point: the direct rounding may differ */
#endif
    return (double)x == a;
#else
    (void)d;
    (void)a;
    return -1;
#endif
}

static bool reads_back_exact(decimal d, bool single, double a)
{
    char buf[48];
    snprintf(buf, sizeof buf, "%llue%d", (unsigned long long)d.digits, d.exp);
    return single ? strtof(buf, NULL) == (float)a : strtod(buf, NULL) == a;
}

/* binary32 between about 1e-4 and 1e9 (nearly every process value): a
 * float has a 24-bit mantissa, so a * 10^s for s <= 12 (5^12 < 2^28) is
 * exact in a double. From that one product, its whole part and fraction,
 * the nearest decimal of every precision 6..9 follows with integer
 * arithmetic, ties to even: no long double, no fallback. False when a is
 * outside that range. */
static bool shortest_f32_fast(double a, decimal *d)
{
    uint64_t bits;
    memcpy(&bits, &a, sizeof bits);
    int e2 = (int)(bits >> 52) - 1023;
    int e10 = e2 >= 0 ? (e2 * 78913) >> 18 : -((-e2 * 78913 + (1 << 18) - 1) >> 18); /* floor(log10 a) or one less */
    int s = 8 - e10;
    if (s < 0 || s > 12) return false;
    double x = a * pow10_d[s];
    if (x >= 1e9) {
        if (--s < 0) return false;
        x = a * pow10_d[s];
    }
    uint64_t whole = (uint64_t)x;
    double frac = x - (double)whole;
    for (int p = FLT_DIG; p <= 9; p++) {
        int k = 9 - p;
        uint64_t unit = pow10_u[k], q = whole / unit, r = whole % unit;
        bool up;
        if (k == 0)
            up = frac > 0.5 || (frac == 0.5 && (q & 1));
        else
            up = r > unit / 2 || (r == unit / 2 && (frac > 0 || (q & 1)));
        decimal c = {q + up, k - s};
        if (c.digits == pow10_u[p]) {
            c.digits = pow10_u[p - 1];
            c.exp++;
        }
        int ok = p == 9 ? 1 : reads_back_f32(c, (float)a);
        if (ok < 0) ok = reads_back_exact(c, true, a);
        if (ok) {
            *d = c;
            return true;
        }
    }
    return false; /* not reached: 9 digits always read back */
}

static size_t shortest(double v, bool single, char *out)
{
    if (isnan(v)) return (size_t)snprintf(out, NUM_TEXT_MAX, "nan");
    if (isinf(v)) return (size_t)snprintf(out, NUM_TEXT_MAX, "%s", v < 0 ? "-inf" : "inf");
    bool negative = signbit(v) != 0;
    double a = fabs(v);
    if (a == 0) return (size_t)snprintf(out, NUM_TEXT_MAX, "%s", negative ? "-0" : "0");
    decimal d = {0, 0};
    if (single && shortest_f32_fast(a, &d)) return write_decimal(negative, d, out);
    int first = single ? FLT_DIG : DBL_DIG, last = single ? 9 : 17;
    if (a < (single ? (double)FLT_MIN : DBL_MIN)) first = 1; /* subnormal: fewer digits survive, no shortcut */
    /* floor(log10(a)) or one less: floor(e2 * log10(2)); nearest() corrects it */
    uint64_t bits;
    memcpy(&bits, &a, sizeof bits);
    int e2 = (int)(bits >> 52) - 1023;
    int e10 = e2 >= 0 ? (e2 * 78913) >> 18 : -((-e2 * 78913 + (1 << 18) - 1) >> 18);
    for (int p = first; p <= last; p++) {
        nearest(a, p, &e10, &d);
        if (p == last) break; /* always reads back */
        int ok = single ? reads_back_f32(d, (float)a) : reads_back_f64(d, a);
        if (ok < 0) ok = reads_back_exact(d, single, a);
        if (ok) break;
    }
    return write_decimal(negative, d, out);
}

size_t num_text_f64(double v, char *out) { return shortest(v, false, out); }
size_t num_text_f32(float v, char *out) { return shortest((double)v, true, out); }
