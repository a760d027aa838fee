/* Helpers shared by plcio's tests: fixtures, byte strings, foreign peer processes.
 *
 * Include after <stdarg.h> <stddef.h> <setjmp.h> and <cmocka.h> is not required:
 * this header includes them in the order cmocka needs. */
#ifndef PLCIO_TEST_H
#define PLCIO_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#ifdef __clang_analyzer__
/* cmocka's failed assertions end the test (longjmp) but are not declared noreturn, so the
 * static analyzer (clang-tidy defines __clang_analyzer__) walks on past them and reports
 * what the assertion ruled out. For the analyzer only, each becomes "abort unless". */
#include <stdlib.h>
#include <string.h>
#define PLCIO_TEST_ABORT_UNLESS_(c)                                                                                    \
    do {                                                                                                               \
        if (!(c)) abort();                                                                                             \
    } while (0)
#define PLCIO_TEST_INT_(x) ((uintmax_t)(x))
#undef assert_true
#undef assert_false
#undef assert_int_equal
#undef assert_int_not_equal
#undef assert_non_null
#undef assert_null
#undef assert_ptr_equal
#undef assert_string_equal
#undef assert_string_not_equal
#undef assert_memory_equal
#undef fail
#undef fail_msg
#define assert_true(c)                PLCIO_TEST_ABORT_UNLESS_(c)
#define assert_false(c)               PLCIO_TEST_ABORT_UNLESS_(!(c))
#define assert_int_equal(a, b)        PLCIO_TEST_ABORT_UNLESS_(PLCIO_TEST_INT_(a) == PLCIO_TEST_INT_(b))
#define assert_int_not_equal(a, b)    PLCIO_TEST_ABORT_UNLESS_(PLCIO_TEST_INT_(a) != PLCIO_TEST_INT_(b))
#define assert_non_null(p)            PLCIO_TEST_ABORT_UNLESS_((p) != NULL)
#define assert_null(p)                PLCIO_TEST_ABORT_UNLESS_((p) == NULL)
#define assert_ptr_equal(a, b)        PLCIO_TEST_ABORT_UNLESS_((const void *)(a) == (const void *)(b))
#define assert_string_equal(a, b)     PLCIO_TEST_ABORT_UNLESS_(strcmp((a), (b)) == 0)
#define assert_string_not_equal(a, b) PLCIO_TEST_ABORT_UNLESS_(strcmp((a), (b)) != 0)
#define assert_memory_equal(a, b, n)  PLCIO_TEST_ABORT_UNLESS_(memcmp((a), (b), (n)) == 0)
#define fail()                        abort()
#define fail_msg(...)                                                                                                  \
    do {                                                                                                               \
        (void)fprintf(stderr, __VA_ARGS__);                                                                            \
        abort();                                                                                                       \
    } while (0)
#endif

/* Absolute path of a file under tests/fixtures ("s7-vectors/s7.json"); static buffer. */
const char *plcio_test_fixture_path(const char *relpath);
/* Whole file into a NUL-terminated malloc'd buffer (caller frees); NULL on error. */
char *plcio_test_read_file(const char *path, size_t *len_out);
/* Parse a fixture JSON file; fails the test if missing or invalid. Caller cJSON_Delete()s. */
cJSON *plcio_test_load_json(const char *relpath);

/* Hex text ("03 00 00 16", "030000", "0x03,0x00") to bytes. Returns the byte count,
 * or (size_t)-1 on a bad digit or when cap is exceeded. */
size_t plcio_test_hex(const char *hex, uint8_t *out, size_t cap);

/* Bytes as the shared vector files write them, all forms accepted:
 *   [1, 2, 3]                                   plain array of integers
 *   {"chunks": [...]} or [chunk, ...]            list of chunks
 *   chunk = {"hex": "0300"} | {"bytes": [3, 0]} |
 *           {"repeat": {"count": N, "byte_hex": "aa"}} | {"repeat": {"count": N, "byte": 170}}
 *   "03 00 16"                                   hex string
 * Returns the byte count, (size_t)-1 on a malformed description or overflow. */
size_t plcio_test_bytes(const cJSON *desc, uint8_t *out, size_t cap);

/* ---- foreign peers and our own tools as child processes ----
 * Each child runs in its own process group, dies with the test (PDEATHSIG), and
 * is killed (SIGKILL to the group) by plcio_test_proc_stop or at the latest
 * after its `max_seconds`. */
typedef struct plcio_test_proc {
    pid_t pid;      /* 0: not running (never started, stopped or reaped) */
    int stdout_fd;  /* read end of the child's stdout, -1 if not captured */
    char line[512]; /* the ready line, when waited for */
} plcio_test_proc;

/* A proc that was never started: stopping it does nothing. Declare procs
 * with it (plcio_test_proc p = PLCIO_TEST_PROC_INIT;) or call
 * plcio_test_proc_init, so that no field says fd 0 (stdin). */
#define PLCIO_TEST_PROC_INIT                                                                                           \
    {                                                                                                                  \
        .pid = 0, .stdout_fd = -1, .line = ""                                                                          \
    }
void plcio_test_proc_init(plcio_test_proc *proc);

/* Start argv[0] (PATH searched) with argv; stdout captured; stderr inherited.
 * If ready_prefix is not NULL, wait up to wait_ms for a stdout line starting with
 * it and keep that line in proc->line. Returns 0, or -1 (child killed) on failure. */
int plcio_test_proc_start(plcio_test_proc *proc, const char *const argv[], const char *ready_prefix, int wait_ms,
                          int max_seconds);
/* Read one more stdout line (without newline) within wait_ms; 0 ok, -1 timeout/EOF. */
int plcio_test_proc_read_line(plcio_test_proc *proc, char *buf, size_t cap, int wait_ms);
/* Kill the process group and reap; returns the exit status as waitpid gave it
 * (-1 when it was not running). */
int plcio_test_proc_stop(plcio_test_proc *proc);
/* Wait for the child to exit within wait_ms; returns the exit code (128 +
 * signal when killed), or -1 (then killed). Either way whatever else is left
 * in its process group (children it started) is killed too. */
int plcio_test_proc_wait(plcio_test_proc *proc, int wait_ms);

/* Sleep ms milliseconds (nanosleep, resumed after a signal; usleep is gone from POSIX
 * and refuses a second or more). */
void plcio_test_sleep_ms(unsigned ms);

/* Parse "listening on HOST:PORT" (or any "...:PORT" line); returns the port or -1. */
int plcio_test_port_from_line(const char *line);

/* The plcio command-line tool (PLCIO_BIN, set by ctest); fails the test
 * when it is not set. */
const char *plcio_test_bin(void);

/* A TCP port on 127.0.0.1 that is free now (bound to port 0, then closed). */
int plcio_test_free_port(void);

/* Run a shell command; its output (what it prints to stdout; add 2>&1 for
 * stderr) in out (cut at cap - 1 bytes); returns its exit status, -1 when it
 * did not exit. */
int plcio_test_run(const char *cmd, char *out, size_t cap);

/* Write text to path (created or emptied); fails the test when it cannot. */
void plcio_test_write_file(const char *path, const char *text);

/* Run `command 'arg'... --seconds 1` (args ends with NULL) and expect the
 * usage error: exit status 2 and `why` in what it prints. */
void plcio_test_expect_usage(const char *command, const char *const *args, const char *why);

/* Remove dir and everything under it (rm -rf); 0, or -1 when that failed. */
int plcio_test_rm_rf(const char *dir);

/* Path of tests/interop/node_modules; fails the test if the npm peers are not installed
 * (scripts/bootstrap.sh installs them). Static buffer. */
const char *plcio_test_node_modules(void);

#endif
