/* The child-process helper every peer test uses (tests/support/plcio_test.c):
 * stopping a proc that never started closes nothing (a zeroed proc once
 * closed fd 0, the test's stdin), and waiting for a child that exits takes
 * down what it left running in its process group. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plcio_test.h"

static void test_stop_never_started(void **state)
{
    (void)state;
    int null = open("/dev/null", O_RDONLY);
    assert_true(null >= 0);
    int saved = dup(0);
    assert_int_equal(dup2(null, 0), 0); /* fd 0 is open, whatever ctest gave us */
    plcio_test_proc zeroed;
    memset(&zeroed, 0, sizeof zeroed);
    assert_int_equal(plcio_test_proc_stop(&zeroed), -1);
    assert_int_not_equal(fcntl(0, F_GETFD), -1);
    plcio_test_proc declared = PLCIO_TEST_PROC_INIT;
    assert_int_equal(plcio_test_proc_stop(&declared), -1);
    assert_int_equal(plcio_test_proc_wait(&declared, 10), -1);
    assert_int_not_equal(fcntl(0, F_GETFD), -1);
    if (saved >= 0) {
        dup2(saved, 0);
        close(saved);
    } else {
        close(0);
    }
    close(null);
}

/* Gone, or a zombie waiting for init: not running any more. */
static int running(pid_t pid)
{
    char path[64], st[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(st, 1, sizeof st - 1, f);
    (void)fclose(f); /* read only */
    st[n] = '\0';
    const char *p = strrchr(st, ')');
    return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

static void test_wait_kills_the_group(void **state)
{
    (void)state;
    const char *argv[] = {"sh", "-c", "sleep 60 & echo child $!; exit 3", NULL};
    plcio_test_proc p = PLCIO_TEST_PROC_INIT;
    assert_int_equal(plcio_test_proc_start(&p, argv, "child ", 5000, 60), 0);
    pid_t child = (pid_t)atoi(p.line + 6);
    assert_true(child > 0);
    assert_true(running(child));
    assert_int_equal(plcio_test_proc_wait(&p, 5000), 3);
    assert_int_equal(p.pid, 0);
    assert_int_equal(p.stdout_fd, -1);
    /* SIGKILL is delivered at once; the reap by init may lag: poll briefly */
    for (int i = 0; i < 200 && running(child); i++)
        plcio_test_sleep_ms(10);
    assert_false(running(child));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_never_started),
        cmocka_unit_test(test_wait_kills_the_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
