/* --churn RATE[:PERCENT] for plcio sim s7 / sim modbus: values that change by
 * themselves, as a running plant's do (issue 21: benchmarks whose values
 * never change never pay for what changes cost).
 *
 * RATE rewrites per second (0.1..1000). Each rewrite visits every 4-byte word
 * of the simulator's memory (S7: every data block; Modbus: holding and input
 * registers, as register pairs) and gives PERCENT % of them (default 100,
 * picked at random each time) a new REAL value, IEEE 754 big-endian (Modbus:
 * high word first), 0.000..999.999 in steps of 0.001: REAL tags at 4-byte
 * offsets read plausible process values; other types see those bytes.
 * A rewrite that falls behind is skipped, not made up. */
#ifndef PLCIO_TOOL_SIM_CHURN_H
#define PLCIO_TOOL_SIM_CHURN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sim_churn {
    double rate;      /* rewrites per second; 0: off */
    unsigned percent; /* share of the words each rewrite changes, 1..100 */
    uint64_t period_ns, next_ns, rng;
} sim_churn;

/* Parse RATE[:PERCENT]; false (after printing why) when it is not one. */
bool sim_churn_parse(const char *arg, sim_churn *c);
/* Start the clock: the first rewrite one period from now. */
void sim_churn_start(sim_churn *c);
/* Milliseconds until the next rewrite, at most max_ms (max_ms when off). */
int sim_churn_wait_ms(const sim_churn *c, int max_ms);
/* True when a rewrite is due; schedules the next one (missed ones skipped). */
bool sim_churn_due(sim_churn *c);
/* Rewrite PERCENT % of the 4-byte words of bytes[0..size). */
void sim_churn_fill(sim_churn *c, uint8_t *bytes, size_t size);

#endif
