/* Layout parser speed: a generated TIA-style DB with 50,000 declared members
 * (BOOLs, BYTEs, INTs and REALs in 500 structures, start values on some, a
 * BEGIN section) is parsed and resolved; then every leaf is looked up by
 * name and the start image is built. The goal (issue 6) is "well under a
 * second" for the parse; the ratio to that budget is printed. There is no
 * foreign C implementation of TIA source parsing to compare against. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plcio/core.h"
#include "plcio/layout.h"

#define MEMBERS    50000
#define PER_STRUCT 100
#define RUNS       7

static char *generate(size_t *len_out)
{
    size_t cap = (size_t)MEMBERS * 64 + 4096, len = 0;
    char *s = malloc(cap);
    if (!s) return NULL;
    len += (size_t)sprintf(s + len, "\xEF\xBB\xBF"
                                    "DATA_BLOCK \"Bench\"\r\n{ S7_Optimized_Access := 'FALSE' }\r\n"
                                    "VERSION : 0.1\r\nNON_RETAIN\r\n   STRUCT \r\n");
    static const char *const types[] = {"Bool", "Bool", "Bool", "Byte", "Bool", "Int", "Bool", "Real", "Bool", "Bool"};
    for (int g = 0; g < MEMBERS / PER_STRUCT; g++) {
        len += (size_t)sprintf(s + len, "      group_%d : Struct   // group %d\r\n", g, g);
        for (int i = 0; i < PER_STRUCT - 1; i++) {
            const char *t = types[i % 10];
            if (i % 10 == 5)
                len += (size_t)sprintf(s + len, "         m_%d : %s := %d;   // with a start value\r\n", i, t, i);
            else
                len += (size_t)sprintf(s + len, "         m_%d : %s;\r\n", i, t);
        }
        len += (size_t)sprintf(s + len, "      END_STRUCT;\r\n");
    }
    len += (size_t)sprintf(s + len, "   END_STRUCT;\r\n\r\nBEGIN\r\n");
    for (int g = 0; g < MEMBERS / PER_STRUCT; g += 10)
        len += (size_t)sprintf(s + len, "   group_%d.m_7 := %d.5;\r\n", g, g);
    len += (size_t)sprintf(s + len, "\r\nEND_DATA_BLOCK\r\n");
    *len_out = len;
    return s;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(void)
{
    size_t len;
    char *text = generate(&len);
    if (!text) return 1;
    uint64_t parse[RUNS], lookup[RUNS], image[RUNS];
    size_t leaves = 0;
    uint32_t size = 0;
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = plcio_monotonic_ns();
        plcio_layout_set *set = NULL;
        (void)plcio_layout_set_new(NULL, &set, NULL);
        int rc = set ? plcio_layout_set_add_text(set, "bench.db", text, len) : PLCIO_ENOMEM;
        if (rc == PLCIO_OK) rc = plcio_layout_set_resolve(set);
        uint64_t t1 = plcio_monotonic_ns();
        if (rc != PLCIO_OK) {
            fprintf(stderr, "bench_layout: %s\n", set ? plcio_layout_set_last_error(set)->text : "out of memory");
            return 1;
        }
        const plcio_layout *l = plcio_layout_set_get(set, 0);
        leaves = plcio_layout_leaf_count(l);
        size = plcio_layout_size(l);
        for (size_t i = 0; i < leaves; i++) {
            plcio_layout_member m, again;
            plcio_layout_leaf(l, i, &m);
            if (plcio_layout_lookup(l, m.name, &again) != PLCIO_OK || again.byte != m.byte) return 1;
        }
        uint64_t t2 = plcio_monotonic_ns();
        uint8_t *img = malloc(size);
        if (!img || plcio_layout_start_image(l, img, size) != PLCIO_OK) return 1;
        uint64_t t3 = plcio_monotonic_ns();
        free(img);
        parse[r] = t1 - t0;
        lookup[r] = t2 - t1;
        image[r] = t3 - t2;
        plcio_layout_set_free(set);
    }
    qsort(parse, RUNS, sizeof parse[0], cmp_u64);
    qsort(lookup, RUNS, sizeof lookup[0], cmp_u64);
    qsort(image, RUNS, sizeof image[0], cmp_u64);
    size_t mid = RUNS / 2; /* the median */
    double p = (double)parse[mid] / 1e6, lk = (double)lookup[mid] / 1e6, im = (double)image[mid] / 1e6;
    printf("layout: DB of %d declared members (%zu leaves, %u bytes), source %.2f MB\n", MEMBERS, leaves, size,
           (double)len / 1e6);
    printf("  parse + resolve   %8.2f ms  (median of %d)  %6.1f MB/s  %6.0f ns/member\n", p, RUNS,
           (double)len / 1e3 / p, p * 1e6 / MEMBERS);
    printf("  lookup every leaf %8.2f ms  %6.0f ns/lookup\n", lk, lk * 1e6 / (double)leaves);
    printf("  start image       %8.2f ms\n", im);
    printf("  ratio: 1 s budget / parse time = %.0fx\n", 1000.0 / p);
    free(text);
    return 0;
}
