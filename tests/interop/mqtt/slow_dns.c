/* A name server that takes its time, for test_mqtt_spool.sh (LD_PRELOAD): a
 * getaddrinfo for "slow.invalid" creates $PLCIO_TEST_DNS_GATE.entered, then
 * waits until the file $PLCIO_TEST_DNS_GATE exists (at most 60 s) and answers
 * "no such name". Every other name goes to the C library's getaddrinfo. The
 * test proves with it that the engine reads its PLCs while a broker's name is
 * being resolved. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *, struct addrinfo **);

int getaddrinfo(const char *name, const char *service, const struct addrinfo *req, struct addrinfo **pai)
{
    const char *gate = getenv("PLCIO_TEST_DNS_GATE");
    if (name && gate && !strcmp(name, "slow.invalid")) {
        char entered[512];
        snprintf(entered, sizeof entered, "%s.entered", gate);
        int fd = open(entered, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0) (void)close(fd); /* an empty marker */
        const struct timespec step = {0, 50000000L};
        for (int i = 0; i < 1200 && access(gate, F_OK) != 0; i++)
            nanosleep(&step, NULL);
        return EAI_NONAME;
    }
    gai_fn next = (gai_fn)dlsym(RTLD_NEXT, "getaddrinfo");
    return next ? next(name, service, req, pai) : EAI_FAIL;
}
