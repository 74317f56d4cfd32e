/*
 * bench_proc.c - processes and files for switchboard-bench: starting the
 * real broker binaries, forking the bench into client and worker roles,
 * killing and reaping them, reading their CPU time from /proc, free
 * loopback ports and removing the temp folder.
 *
 * Every child asks the kernel to kill it when the parent dies
 * (PR_SET_PDEATHSIG), so a bench that is killed itself leaves nothing
 * running. Children initialise czmq themselves after fork and give up its
 * signal handlers, so SIGTERM ends them at once. This file knows nothing
 * of the protocol or of the phases.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <czmq.h>

#include "bench.h"

uint64_t
bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
bench_sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u),
                          (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void
bench_atomic_max(atomic_uint_fast64_t *a, uint64_t v)
{
    uint_fast64_t cur = atomic_load(a);
    while (cur < v && !atomic_compare_exchange_weak(a, &cur, v))
        ;
}

int
bench_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0 && errno != ENOENT)
        fprintf(stderr, "switchboard-bench: cannot remove %s: %s\n", path,
                strerror(errno));
    return 0;
}

void
bench_rmtree(const char *path)
{
    (void)nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void
bench_print_tail(const char *path, int lines)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char buf[16384];
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        long from = size > (long)sizeof buf - 1 ? size - (long)sizeof buf + 1
                                                : 0;
        (void)fseek(f, from, SEEK_SET);
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    if (n == 0)
        return;
    while (n && buf[n - 1] == '\n')
        buf[--n] = 0;
    size_t start = n;
    for (int seen = 0; start > 0; start--)
        if (buf[start - 1] == '\n' && ++seen == lines)
            break;
    fprintf(stderr, "  --- last lines of %s ---\n", path);
    for (char *line = strtok(buf + start, "\n"); line;
         line = strtok(NULL, "\n"))
        fprintf(stderr, "  | %s\n", line);
}

/* In a fresh child: die with the parent, default signal handling. */
static void
child_setup(pid_t parent, int deathsig)
{
    (void)prctl(PR_SET_PDEATHSIG, deathsig);
    if (getppid() != parent)
        _exit(1); /* the parent is already gone */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
}

pid_t
bench_spawn_broker(const char *bin, const char *dir, const char *client_ep,
                   const char *worker_ep, const char *peer_ep,
                   const char *log_level, const char *const *extra)
{
    char data[4200], log[4200];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(log, sizeof log, "%s/broker.log", dir);
    if (mkdir(data, 0700) != 0) {
        fprintf(stderr, "switchboard-bench: cannot create %s: %s\n", data,
                strerror(errno));
        return -1;
    }
    char *argv[32] = {(char *)bin,          "--data",    data,
                      "--clients",          (char *)client_ep,
                      "--workers",          (char *)worker_ep,
                      "--peers",            (char *)peer_ep,
                      "--http",             "off",
                      "--log-level",        (char *)log_level,
                      NULL};
    size_t n = 13;
    for (size_t i = 0; extra && extra[i]; i++) {
        if (n + 1 >= sizeof argv / sizeof argv[0]) {
            fprintf(stderr, "switchboard-bench: too many broker arguments\n");
            return -1;
        }
        argv[n++] = (char *)extra[i];
    }
    argv[n] = NULL;
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "switchboard-bench: cannot create %s: %s\n", log,
                strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        child_setup(parent, SIGTERM);
        if (dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
            _exit(127);
        execv(bin, argv);
        fprintf(stderr, "switchboard-bench: cannot run %s: %s\n", bin,
                strerror(errno));
        _exit(127);
    }
    close(fd);
    if (pid < 0)
        fprintf(stderr, "switchboard-bench: fork: %s\n", strerror(errno));
    return pid;
}

pid_t
bench_fork_role(bench_role_fn fn, const bench_env_t *env, int index)
{
    fflush(NULL); /* or the child would print the parent's buffer again */
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "switchboard-bench: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid > 0)
        return pid;
    child_setup(parent, SIGKILL);
    zsys_init();
    zsys_handler_set(NULL); /* keep SIGTERM's default action */
    int rc = fn(env, index);
    zsys_shutdown();
    fflush(NULL);
    _exit(rc);
}

int64_t
bench_cpu_us(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    /* "pid (comm) state ..." - comm may hold spaces and parentheses, so
     * count from the last ')'. utime and stime are fields 14 and 15. */
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    unsigned long long utime, stime;
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               &utime, &stime) != 2)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0)
        return -1;
    return (int64_t)((utime + stime) * 1000000ull / (unsigned long long)hz);
}

size_t
bench_kill_all(pid_t *pids, int *status, size_t n, int grace_ms)
{
    int st;
    size_t killed = 0;
    for (size_t i = 0; i < n; i++)
        if (pids[i] > 0)
            (void)kill(pids[i], SIGTERM);
    uint64_t end = bench_now_ns() + (uint64_t)grace_ms * 1000000u;
    for (;;) {
        bool left = false;
        for (size_t i = 0; i < n; i++) {
            if (pids[i] <= 0)
                continue;
            st = 0;
            pid_t r = waitpid(pids[i], &st, WNOHANG);
            if (r == pids[i] || (r < 0 && errno == ECHILD)) {
                pids[i] = 0;
                if (status)
                    status[i] = st;
            } else {
                left = true;
            }
        }
        if (!left || bench_now_ns() >= end)
            break;
        bench_sleep_ns(2000000);
    }
    for (size_t i = 0; i < n; i++) {
        if (pids[i] <= 0)
            continue;
        (void)kill(pids[i], SIGKILL);
        st = 0;
        while (waitpid(pids[i], &st, 0) < 0 && errno == EINTR)
            ;
        if (status)
            status[i] = st;
        pids[i] = 0;
        killed++;
    }
    return killed;
}

const char *
bench_status_text(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, len, "status 0x%x", (unsigned)status);
    return buf;
}
