/*
 * swbtest.c - implementation of the test kit (see swbtest.h).
 */
#include "swbtest.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int swbt_failed;
int swbt_total_fail;

bool
swbt_selected(const char *name)
{
    const char *only = getenv("SWBT_ONLY");
    return !only || !*only || strstr(name, only) != NULL;
}

int
swbt_ms(int ms)
{
    const char *m = getenv("SWB_TIMEOUT_MULT");
    int mult = m ? atoi(m) : 1;
    return ms * (mult > 0 ? mult : 1);
}

int64_t
swbt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
swbt_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

char *
swbt_tempdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/swb-%s-XXXXXX", base ? base : "/tmp", tag);
    if (!mkdtemp(tmpl))
        return NULL;
    return strdup(tmpl);
}

void
swbt_rmdir(const char *path)
{
    if (!path || !strstr(path, "/swb-"))
        return;
    char cmd[800];
    /* a sanitizer report in any process's log fails the current test */
    snprintf(cmd, sizeof cmd, "grep -s -E -A30 'ERROR: (Address|Leak|Undefined"
             "Behavior)Sanitizer|runtime error:' '%s'/*.log >&2", path);
    if (system(cmd) == 0) {
        fprintf(stderr, "  FAIL: sanitizer report in the logs of %s\n", path);
        swbt_failed++;
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "  warning: could not remove %s\n", path);
}

int
swbt_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    socklen_t len = sizeof a;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

const char *
swbt_bin(const char *name)
{
    static char buf[1024];
    const char *dir = getenv("SWB_BIN_DIR");
    const char *sub = "";
    if (strcmp(name, "switchboard-broker") == 0 ||
        strcmp(name, "switchboard-bench") == 0)
        sub = "broker/";
    else if (strcmp(name, "switchboard-worker") == 0)
        sub = "worker/";
    else if (strcmp(name, "switchboard") == 0)
        sub = "client/";
    snprintf(buf, sizeof buf, "%s/%s%s", dir ? dir : ".", sub, name);
    return buf;
}

pid_t
swbt_spawn(char *const argv[], const char *log)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (log) {
            int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
                close(fd);
            }
        }
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) {
            dup2(nul, 0);
            close(nul);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

int
swbt_kill(pid_t pid, int sig)
{
    int st = 0;
    if (pid <= 0)
        return -1;
    kill(pid, sig);
    while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
        ;
    return st;
}

int
swbt_wait_exit(pid_t pid, int ms)
{
    int64_t end = swbt_now_ms() + ms;
    for (;;) {
        int st = 0;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            if (WIFEXITED(st))
                return WEXITSTATUS(st);
            if (WIFSIGNALED(st))
                return 128 + WTERMSIG(st);
            return -1;
        }
        if (swbt_now_ms() >= end)
            return -1;
        swbt_sleep_ms(10);
    }
}

int
swbt_run(const char *cmdline, char **out)
{
    FILE *p = popen(cmdline, "r");
    if (!p)
        return -1;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 1024) {
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
    }
    if (buf)
        buf[len] = 0;
    int st = pclose(p);
    if (out)
        *out = buf;
    else
        free(buf);
    if (st == -1)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int
swbt_cli(const char *ep, const char *logdir, char **out, const char *fmt, ...)
{
    char args[1024], cmd[2400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' --broker %s %s 2>>'%s/cli.log' "
             "</dev/null", swbt_bin("switchboard"), ep, args, logdir);
    *out = NULL;
    return swbt_run(cmd, out);
}

char *
swbt_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)(n < 0 ? 0 : n) + 1);
    if (buf) {
        size_t got = fread(buf, 1, (size_t)(n < 0 ? 0 : n), f);
        buf[got] = 0;
    }
    fclose(f);
    return buf;
}

/* ---- real processes of a region ---- */

#include <czmq.h>

#include "swb_client.h"

static int
broker_spawn(swbt_broker_t *b)
{
    char *argv[64];
    int n = 0;
    argv[n++] = strdup(swbt_bin("switchboard-broker"));
    argv[n++] = "--data";
    argv[n++] = b->data;
    argv[n++] = "--clients";
    argv[n++] = b->client_ep;
    argv[n++] = "--workers";
    argv[n++] = b->worker_ep;
    argv[n++] = "--http";
    argv[n++] = "off";
    for (int i = 0; b->extra[i] && n < 62; i++)
        argv[n++] = b->extra[i];
    argv[n] = NULL;
    b->pid = swbt_spawn(argv, b->log);
    free(argv[0]);
    if (b->pid < 0)
        return -1;
    /* up when it answers any request */
    swb_client_t *c = NULL;
    if (swb_client_new(b->client_ep, 300, &c) != SWB_OK)
        return -1;
    int rc = swbt_wait_answering(c, b->pid);
    swb_client_destroy(&c);
    return rc;
}

int
swbt_wait_answering(struct swb_client *c, pid_t pid)
{
    int64_t end = swbt_now_ms() + swbt_ms(10000);
    while (c && swbt_now_ms() < end) {
        swb_task_t t;
        swb_err_t e = swb_client_status(c, 1, &t, NULL);
        if (e == SWB_OK)
            swb_codec_free(&swb_task_schema, &t);
        if (e != SWB_EUNREACHABLE)
            return 0;
        if (swbt_wait_exit(pid, 0) != -1)
            return -1; /* it died */
    }
    return -1;
}

void *
swbt_raw_exchange(const char *ep, const void *const *frames,
                  const size_t *lens, int n, int ms)
{
    zsock_t *s = zsock_new_dealer(ep);
    if (!s)
        return NULL;
    zsock_set_rcvtimeo(s, ms);
    zsock_set_linger(s, 0);
    for (int i = 0; i < n; i++) {
        zframe_t *f = zframe_new(frames[i], lens[i]);
        zframe_send(&f, s, i + 1 < n ? ZFRAME_MORE : 0);
    }
    zframe_t *reply = zframe_recv(s);
    zsock_destroy(&s);
    return reply;
}

bool
swbt_frame_has(void *frame, const char *text)
{
    zframe_t *f = frame;
    return f && memmem(zframe_data(f), zframe_size(f), text, strlen(text));
}

int
swbt_broker_start(swbt_broker_t *b, const char *tmpdir,
                  const char *const *extra)
{
    memset(b, 0, sizeof *b);
    snprintf(b->data, sizeof b->data, "%s/data", tmpdir);
    snprintf(b->log, sizeof b->log, "%s/broker.log", tmpdir);
    snprintf(b->client_ep, sizeof b->client_ep, "tcp://127.0.0.1:%d",
             swbt_free_port());
    snprintf(b->worker_ep, sizeof b->worker_ep, "tcp://127.0.0.1:%d",
             swbt_free_port());
    for (int i = 0; extra && extra[i] && i < 31; i++)
        b->extra[i] = strdup(extra[i]);
    return broker_spawn(b);
}

int
swbt_broker_restart(swbt_broker_t *b)
{
    return broker_spawn(b);
}

void
swbt_broker_stop(swbt_broker_t *b, int sig)
{
    if (b->pid > 0)
        swbt_kill(b->pid, sig);
    b->pid = 0;
}

void
swbt_broker_free(swbt_broker_t *b)
{
    for (int i = 0; i < 32; i++) {
        free(b->extra[i]);
        b->extra[i] = NULL;
    }
}

pid_t
swbt_worker_start(const swbt_broker_t *b, const char *tmpdir,
                  const char *site, const char *agent, const char *channels,
                  const char *cmd, const char *const *extra)
{
    char *argv[64];
    char log[600];
    int n = 0;
    snprintf(log, sizeof log, "%s/worker-%s.log", tmpdir, agent);
    argv[n++] = strdup(swbt_bin("switchboard-worker"));
    argv[n++] = "--broker";
    argv[n++] = (char *)b->worker_ep;
    argv[n++] = "--site";
    argv[n++] = (char *)site;
    argv[n++] = "--agent";
    argv[n++] = (char *)agent;
    argv[n++] = "--channels";
    argv[n++] = (char *)channels;
    argv[n++] = "--exec";
    argv[n++] = (char *)cmd;
    for (int i = 0; extra && extra[i] && n < 62; i++)
        argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    pid_t pid = swbt_spawn(argv, log);
    free(argv[0]);
    return pid;
}

int
swbt_submit_many(swb_client_t *c, swb_task_spec_t *base, const char *prefix,
                 int n, uint64_t *ids)
{
    int acked = 0, sent = 0, got = 0;
    uint64_t *reqs = calloc((size_t)n + 1, sizeof *reqs);
    char payload[128];
    while (reqs && got < n) {
        while (sent < n && sent - got < 100) {
            snprintf(payload, sizeof payload, "%s%d", prefix, sent);
            base->payload.data = (uint8_t *)payload;
            base->payload.len = strlen(payload);
            if (swb_client_send_submit(c, base, &reqs[sent]) != SWB_OK)
                break;
            sent++;
        }
        uint64_t req, id;
        bool dup;
        swb_err_t rc = swb_client_recv_submitted(c, swbt_ms(10000), &req, &id,
                                                 &dup);
        if (rc == SWB_ETIMEOUT || rc == SWB_EUNREACHABLE)
            break;
        got++;
        for (int i = 0; i < sent; i++)
            if (reqs[i] == req && rc == SWB_OK) {
                ids[i] = id;
                acked++;
            }
    }
    base->payload.data = NULL;
    base->payload.len = 0;
    free(reqs);
    return acked;
}

swb_task_spec_t
swbt_spec(const char *ch, const char *payload)
{
    swb_task_spec_t s;
    memset(&s, 0, sizeof s);
    s.channel = (char *)ch;
    s.payload.data = (uint8_t *)payload;
    s.payload.len = payload ? strlen(payload) : 0;
    return s;
}
