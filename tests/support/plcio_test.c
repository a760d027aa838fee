#include "plcio_test.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *plcio_test_fixture_path(const char *relpath)
{
    static char path[4096];
    const char *dir = getenv("PLCIO_FIXTURES");
    if (!dir || !*dir) dir = PLCIO_FIXTURES;
    snprintf(path, sizeof path, "%s/%s", dir, relpath);
    return path;
}

char *plcio_test_read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) break;
        if (len + 1 >= cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        if (n == 0) break;
        len += n;
    }
    (void)fclose(f); /* read-only */
    if (buf) {
        buf[len] = '\0';
        if (len_out) *len_out = len;
    }
    return buf;
}

cJSON *plcio_test_load_json(const char *relpath)
{
    const char *path = plcio_test_fixture_path(relpath);
    char *text = plcio_test_read_file(path, NULL);
    if (!text) fail_msg("cannot read fixture %s", path);
    cJSON *json = cJSON_Parse(text);
    free(text);
    if (!json) fail_msg("fixture %s is not valid JSON", path);
    return json;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

size_t plcio_test_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    const char *p = hex;
    while (*p) {
        if (isspace((unsigned char)*p) || *p == ',' || *p == ':' || *p == '-') {
            p++;
            continue;
        }
        if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) p += 2;
        int hi = hexval(p[0]), lo = hi < 0 ? -1 : hexval(p[1]);
        if (hi < 0 || lo < 0 || n >= cap) return (size_t)-1;
        out[n++] = (uint8_t)(hi << 4 | lo);
        p += 2;
    }
    return n;
}

static size_t put_repeat(const cJSON *rep, uint8_t *out, size_t cap)
{
    const cJSON *count = cJSON_GetObjectItemCaseSensitive(rep, "count");
    const cJSON *bh = cJSON_GetObjectItemCaseSensitive(rep, "byte_hex");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(rep, "byte");
    if (!cJSON_IsNumber(count) || count->valuedouble < 0) return (size_t)-1;
    size_t n = (size_t)count->valuedouble;
    uint8_t v;
    if (cJSON_IsString(bh)) {
        if (plcio_test_hex(bh->valuestring, &v, 1) != 1) return (size_t)-1;
    } else if (cJSON_IsNumber(b) && b->valuedouble >= 0 && b->valuedouble <= 255) {
        v = (uint8_t)b->valuedouble;
    } else {
        return (size_t)-1;
    }
    if (n > cap) return (size_t)-1;
    memset(out, v, n);
    return n;
}

size_t plcio_test_bytes(const cJSON *desc, uint8_t *out, size_t cap)
{
    if (cJSON_IsString(desc)) return plcio_test_hex(desc->valuestring, out, cap);
    if (cJSON_IsObject(desc)) {
        const cJSON *chunks = cJSON_GetObjectItemCaseSensitive(desc, "chunks");
        if (chunks) return plcio_test_bytes(chunks, out, cap);
        const cJSON *hex = cJSON_GetObjectItemCaseSensitive(desc, "hex");
        if (hex) return plcio_test_bytes(hex, out, cap);
        const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(desc, "bytes");
        if (bytes) return plcio_test_bytes(bytes, out, cap);
        const cJSON *rep = cJSON_GetObjectItemCaseSensitive(desc, "repeat");
        if (rep) return put_repeat(rep, out, cap);
        return (size_t)-1;
    }
    if (!cJSON_IsArray(desc)) return (size_t)-1;
    size_t n = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, desc)
    {
        if (cJSON_IsNumber(item)) {
            /* cppcheck-suppress unsignedLessThanZero ; the test is on valuedouble, a double */
            if (n >= cap || item->valuedouble < 0 || item->valuedouble > 255) return (size_t)-1;
            out[n++] = (uint8_t)item->valuedouble;
        } else {
            size_t m = plcio_test_bytes(item, out + n, cap - n);
            if (m == (size_t)-1) return m;
            n += m;
        }
    }
    return n;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int plcio_test_proc_read_line(plcio_test_proc *proc, char *buf, size_t cap, int wait_ms)
{
    size_t len = 0;
    long long deadline = now_ms() + wait_ms;
    while (len + 1 < cap) {
        long long left = deadline - now_ms();
        if (left <= 0) return -1;
        struct pollfd pfd = {.fd = proc->stdout_fd, .events = POLLIN};
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        char c;
        ssize_t n = read(proc->stdout_fd, &c, 1);
        if (n <= 0) return -1;
        if (c == '\n') break;
        buf[len++] = c;
    }
    buf[len] = '\0';
    return 0;
}

int plcio_test_proc_start(plcio_test_proc *proc, const char *const argv[], const char *ready_prefix, int wait_ms,
                          int max_seconds)
{
    int fds[2];
    memset(proc, 0, sizeof *proc);
    proc->stdout_fd = -1;
    if (pipe(fds) != 0) return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        if (max_seconds > 0) alarm((unsigned)max_seconds); /* survives exec: the peer cannot outlive its budget */
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    setpgid(pid, pid);
    close(fds[1]);
    proc->pid = pid;
    proc->stdout_fd = fds[0];
    if (ready_prefix) {
        long long deadline = now_ms() + wait_ms;
        for (;;) {
            long long left = deadline - now_ms();
            if (left <= 0 || plcio_test_proc_read_line(proc, proc->line, sizeof proc->line, (int)left) != 0) {
                plcio_test_proc_stop(proc);
                return -1;
            }
            if (strncmp(proc->line, ready_prefix, strlen(ready_prefix)) == 0) break;
        }
    }
    return 0;
}

void plcio_test_proc_init(plcio_test_proc *proc)
{
    memset(proc, 0, sizeof *proc);
    proc->stdout_fd = -1;
}

int plcio_test_proc_stop(plcio_test_proc *proc)
{
    int status = -1;
    if (proc->pid <= 0) return status; /* never started (or reaped): owns no fd either */
    kill(-proc->pid, SIGKILL);
    kill(proc->pid, SIGKILL);
    while (waitpid(proc->pid, &status, 0) < 0 && errno == EINTR) {
    }
    proc->pid = 0;
    if (proc->stdout_fd >= 0) close(proc->stdout_fd);
    proc->stdout_fd = -1;
    return status;
}

int plcio_test_proc_wait(plcio_test_proc *proc, int wait_ms)
{
    if (proc->pid <= 0) return -1;
    long long deadline = now_ms() + wait_ms;
    while (now_ms() < deadline) {
        /* seen exited but not reaped yet (WNOWAIT): its pid, the group's id,
         * cannot be reused while the rest of the group is killed */
        siginfo_t si;
        memset(&si, 0, sizeof si);
        if (waitid(P_PID, (id_t)proc->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == proc->pid) {
            int status = plcio_test_proc_stop(proc); /* the group, then the reap */
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        struct timespec ts = {0, 5L * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    plcio_test_proc_stop(proc);
    return -1;
}

void plcio_test_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int plcio_test_port_from_line(const char *line)
{
    const char *colon = strrchr(line, ':');
    if (!colon) return -1;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || port <= 0 || port > 65535) return -1;
    return (int)port;
}

const char *plcio_test_bin(void)
{
    const char *bin = getenv("PLCIO_BIN");
    assert_non_null(bin);
    return bin;
}

int plcio_test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

int plcio_test_run(const char *cmd, char *out, size_t cap)
{
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t n = 0;
    out[0] = '\0';
    while (n + 1 < cap && fgets(out + n, (int)(cap - n), f))
        n += strlen(out + n);
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void plcio_test_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

void plcio_test_expect_usage(const char *command, const char *const *args, const char *why)
{
    char cmd[1024], out[2048];
    size_t n = (size_t)snprintf(cmd, sizeof cmd, "%s", command);
    for (size_t i = 0; args[i] && n < sizeof cmd; i++)
        n += (size_t)snprintf(cmd + n, sizeof cmd - n, " '%s'", args[i]);
    if (n < sizeof cmd) n += (size_t)snprintf(cmd + n, sizeof cmd - n, " --seconds 1 2>&1");
    if (n >= sizeof cmd) fail_msg("command too long: %s", cmd);
    int rc = plcio_test_run(cmd, out, sizeof out);
    if (!strstr(out, why)) print_error("%s: got '%s'\n", cmd, out);
    assert_non_null(strstr(out, why));
    assert_int_equal(rc, 2);
}

int plcio_test_rm_rf(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

const char *plcio_test_node_modules(void)
{
    static char path[4096];
    const char *dir = getenv("PLCIO_INTEROP_DIR");
    if (!dir || !*dir) dir = PLCIO_INTEROP_DIR;
    snprintf(path, sizeof path, "%s/node_modules", dir);
    struct stat st;
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/node-snap7", path);
    if (stat(probe, &st) != 0) fail_msg("npm test peers missing in %s: run scripts/bootstrap.sh", path);
    return path;
}
