/* Values that change by themselves in the simulators (sim_churn.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "plcio/bytes.h"
#include "plcio/core.h"
#include "sim_churn.h"

bool sim_churn_parse(const char *arg, sim_churn *c)
{
    char *end;
    double rate = strtod(arg, &end);
    unsigned long percent = 100;
    if (*end == ':') {
        const char *p = end + 1;
        percent = strtoul(p, &end, 10);
        if (end == p) percent = 0;
    }
    if (*end || !(rate >= 0.1 && rate <= 1000) || percent < 1 || percent > 100) {
        cli_error(PLCIO_EXIT_USAGE, "--churn wants RATE[:PERCENT]: 0.1..1000 rewrites a second, 1..100 %%; got '%s'",
                  arg);
        return false;
    }
    c->rate = rate;
    c->percent = (unsigned)percent;
    c->period_ns = (uint64_t)(1e9 / rate);
    c->rng = 0x2545F4914F6CDD1Dull ^ plcio_monotonic_ns();
    return true;
}

void sim_churn_start(sim_churn *c)
{
    if (c->rate > 0) c->next_ns = plcio_monotonic_ns() + c->period_ns;
}

int sim_churn_wait_ms(const sim_churn *c, int max_ms)
{
    if (!(c->rate > 0)) return max_ms;
    uint64_t now = plcio_monotonic_ns();
    if (c->next_ns <= now) return 0;
    uint64_t ms = (c->next_ns - now + PLCIO_NS_PER_MS - 1) / PLCIO_NS_PER_MS;
    return ms < (uint64_t)max_ms ? (int)ms : max_ms;
}

bool sim_churn_due(sim_churn *c)
{
    if (!(c->rate > 0)) return false;
    uint64_t now = plcio_monotonic_ns();
    if (now < c->next_ns) return false;
    c->next_ns += c->period_ns;
    if (c->next_ns <= now) c->next_ns = now + c->period_ns; /* behind: skip, do not make up */
    return true;
}

static uint64_t next_random(sim_churn *c)
{
    uint64_t x = c->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c->rng = x;
    return x;
}

void sim_churn_fill(sim_churn *c, uint8_t *bytes, size_t size)
{
    for (size_t at = 0; at + 4 <= size; at += 4) {
        uint64_t r = next_random(c);
        if (c->percent < 100 && r % 100 >= c->percent) continue;
        plcio_put_f32be(bytes + at, (float)((r >> 16) % 1000000) / 1000.0f);
    }
}
