/* A full /dev/shm is an error when the segment is created, never a SIGBUS
 * later (issue 23, finding 4). The test runs in its own mount namespace with
 * a 64 KiB tmpfs on /dev/shm (the host's /dev/shm is never touched: the new
 * namespace is made private before anything is mounted). Without the right
 * to do that (not root, no CAP_SYS_ADMIN, a container that forbids it) it
 * prints why and exits 77, which ctest reports as skipped. */
#include "plcio_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plcio/core.h"
#include "plcio/shm.h"

#define SKIP 77

static int private_tiny_shm(char *why, size_t cap)
{
    if (unshare(CLONE_NEWNS) != 0) {
        snprintf(why, cap, "cannot create a mount namespace (%s): needs root or CAP_SYS_ADMIN", strerror(errno));
        return -1;
    }
    /* Private first: a mount below would otherwise propagate to the host. In a
     * chroot "/" is no mount point (EINVAL): then /dev/shm's own mount is made
     * private, which is what the tmpfs below is mounted on (a mount propagates
     * to the peers of the mount it is made on; a private one has none). */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 &&
        mount(NULL, "/dev/shm", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        snprintf(why, cap, "cannot make the mount namespace private (%s)", strerror(errno));
        return -1;
    }
    if (mount("plcio-test-tiny", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=1777") != 0) {
        snprintf(why, cap, "cannot mount a 64 KiB tmpfs on /dev/shm in the namespace (%s)", strerror(errno));
        return -1;
    }
    return 0;
}

static size_t shm_entries(void)
{
    size_t n = 0;
    DIR *d = opendir("/dev/shm");
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && strcmp(e->d_name, "filler") != 0) n++;
    closedir(d);
    return n;
}

static void test_too_big_is_enospc(void **state)
{
    (void)state;
    plcio_shm_tag_def defs[40];
    char names[40][16];
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof names[i], "Text%02d", i);
        defs[i] = (plcio_shm_tag_def){names[i], PLCIO_TYPE_STRING, 254, 0, false};
    }
    plcio_shm_writer *w = NULL;
    plcio_error msg = {0};
    int rc = plcio_shm_writer_new("/plcio-test-space-big", defs, 40, NULL, &w, &msg);
    print_message("create in a 64 KiB /dev/shm: %s: %s\n", plcio_err_name(rc), msg.text);
    assert_int_equal(rc, PLCIO_ENOSPC);
    assert_null(w);
    assert_non_null(strstr(msg.text, "/dev/shm"));
    assert_non_null(strstr(msg.text, "needs"));
    assert_int_equal(shm_entries(), 0); /* nothing left behind */
}

/* A segment created while there was room keeps its pages: another file
 * taking every free byte afterwards cannot make a publish fault. */
static void test_reserved_pages_survive_a_full_shm(void **state)
{
    (void)state;
    static const plcio_shm_tag_def defs[] = {{"A", PLCIO_TYPE_LREAL, 0, 0, false},
                                             {"Text", PLCIO_TYPE_STRING, 254, 0, false}};
    plcio_shm_options o = {.write_slots = 8};
    plcio_shm_writer *w = NULL;
    plcio_error msg = {0};
    assert_int_equal(plcio_shm_writer_new("/plcio-test-space-ok", defs, 2, &o, &w, &msg), PLCIO_OK);
    /* Fill the rest of the tmpfs. */
    int fd = open("/dev/shm/filler", O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    static uint8_t block[4096];
    memset(block, 0x55, sizeof block);
    while (write(fd, block, sizeof block) > 0) {
    }
    assert_int_equal(errno, ENOSPC);
    /* A second segment: a clear error. */
    plcio_shm_writer *w2 = NULL;
    assert_int_equal(plcio_shm_writer_new("/plcio-test-space-2", defs, 2, &o, &w2, &msg), PLCIO_ENOSPC);
    /* The first one works on: every page of it is written here. */
    uint8_t text[256] = {254, 254};
    memset(text + 2, 'x', 254);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(plcio_shm_writer_set(w, 1, text, sizeof text, 0, NULL), PLCIO_OK);
        text[2] = (uint8_t)('a' + i);
        assert_int_equal(plcio_shm_writer_publish(w, NULL), PLCIO_OK);
    }
    plcio_shm_reader *r = NULL;
    assert_int_equal(plcio_shm_reader_new("/plcio-test-space-ok", &r, &msg), PLCIO_OK);
    plcio_shm_reader_free(r);
    plcio_shm_writer_free(w);
    close(fd);
    unlink("/dev/shm/filler");
    assert_int_equal(shm_entries(), 0);
}

/* The CLI says so and exits non-zero (plcio demo; plcio sync likewise
 * through the same engine start). */
static void run_cli(const char *const argv[], const char *what)
{
    assert_non_null(argv[0]);
    int out[2];
    assert_int_equal(pipe(out), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], 2);
        dup2(out[1], 1);
        close(out[0]);
        alarm(60);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    char buf[4096];
    size_t n = 0;
    ssize_t k;
    while (n < sizeof buf - 1 && (k = read(out[0], buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)k;
    buf[n] = '\0';
    close(out[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    print_message("%s: exit %d: %s", what, WIFEXITED(st) ? WEXITSTATUS(st) : -1, buf);
    assert_true(WIFEXITED(st));
    assert_int_not_equal(WEXITSTATUS(st), 0);
    assert_non_null(strstr(buf, "/dev/shm"));
    assert_int_equal(shm_entries(), 0);
}

static void test_cli(void **state)
{
    (void)state;
    const char *bin = getenv("PLCIO_BIN");
    if (!bin) skip();
    /* Leave 8 KiB: less than any engine segment. */
    int fd = open("/dev/shm/filler", O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    static uint8_t block[4096];
    while (write(fd, block, sizeof block) > 0) {
    }
    assert_int_equal(ftruncate(fd, lseek(fd, 0, SEEK_END) - 8192), 0); /* frees the last two pages */
    close(fd);
    const char *const demo[] = {bin, "demo", "--seconds", "2", NULL};
    char layout[512];
    snprintf(layout, sizeof layout, "%s/layouts/test_db.db", PLCIO_FIXTURES);
    const char *const sync[] = {bin,     "sync", "s7://127.0.0.1:1", "--db", "7", "--layout", layout,
                                "--shm", "tiny", "--seconds",        "2",    NULL};
    run_cli(demo, "plcio demo");
    run_cli(sync, "plcio sync");
    unlink("/dev/shm/filler");
}

int main(void)
{
    char why[256];
    if (private_tiny_shm(why, sizeof why) != 0) {
        printf("SKIP: %s\n", why);
        return SKIP;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_too_big_is_enospc),
        cmocka_unit_test(test_reserved_pages_survive_a_full_shm),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
