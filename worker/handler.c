/*
 * handler.c - one `--exec CMD` handler run (see handler.h).
 *
 * The child: its own process group (so that a revoke or the end of the
 * shutdown grace can kill the handler and everything it started), stdin /
 * stdout / stderr on pipes, the environment plus SWB_TASK_ID, SWB_CHANNEL
 * and SWB_ATTEMPT, then `/bin/sh -c CMD`. Everything the child needs is
 * prepared before fork(): between fork and exec it only calls
 * async-signal-safe functions (the parent has libzmq threads).
 *
 * The parent: non-blocking pipe ends, pumped from the runner's poll loop.
 * The task JSON is jansson-built: id, channel, sponsor, attempt, payload
 * (a string when it is valid UTF-8, else "payload_base64"), requirements.
 */
#include "handler.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "swb_domain.h"
#include "swb_worker.h"

#define HB_CHUNK 65536            /* bytes per read / write call */
#define HB_PUMP_MAX (1u << 20)    /* stderr bytes read per pump */

extern char **environ;

/* ---- the task as JSON ---------------------------------------------------- */

static char *
base64(const uint8_t *p, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((n + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = 0;
    return out;
}

static json_t *
json_strs(const swb_strs_t *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < s->n; i++)
        json_array_append_new(a, json_string(s->v[i]));
    return a;
}

/* Sets key to the payload: a string, or base64 under "payload_base64". */
static int
json_payload(json_t *o, const swb_bytes_t *b)
{
    if (!b->len)
        return json_object_set_new(o, "payload", json_string(""));
    json_t *s = json_stringn((const char *)b->data, b->len);
    if (s) /* NULL when not valid UTF-8 */
        return json_object_set_new(o, "payload", s);
    char *b64 = base64(b->data, b->len);
    if (!b64)
        return -1;
    int rc = json_object_set_new(o, "payload_base64", json_string(b64));
    free(b64);
    return rc;
}

/* Sets key to v when v is not zero (absent on the wire). */
static void
json_set_u64(json_t *o, const char *key, uint64_t v)
{
    if (v)
        json_object_set_new(o, key, json_integer((json_int_t)v));
}

static json_t *
json_requirements(const swb_task_spec_t *s)
{
    json_t *r = json_object();
    if (!r)
        return NULL;
    if (s->lang.n) {
        json_t *l = json_object();
        for (size_t i = 0; l && i < s->lang.n; i++)
            json_object_set_new(l, s->lang.v[i].name,
                                json_string(swb_cefr_name(s->lang.v[i].level)));
        json_object_set_new(r, "lang", l);
    }
    if (s->skills.n) {
        json_t *k = json_object();
        for (size_t i = 0; k && i < s->skills.n; i++)
            json_object_set_new(k, s->skills.v[i].name,
                                json_integer((json_int_t)s->skills.v[i].level));
        json_object_set_new(r, "skills", k);
    }
    json_set_u64(r, "priority", s->priority);
    json_set_u64(r, "deadline", s->deadline);
    if (s->sites.n)
        json_object_set_new(r, "sites", json_strs(&s->sites));
    if (s->countries.n)
        json_object_set_new(r, "countries", json_strs(&s->countries));
    if (s->window)
        json_object_set_new(r, "window", json_string(s->window));
    if (s->tz)
        json_object_set_new(r, "tz", json_string(s->tz));
    json_set_u64(r, "not_before", s->not_before);
    json_set_u64(r, "patience", s->patience);
    return r;
}

char *
swbw_task_json(const swb_task_t *t, size_t *len)
{
    static const swb_task_spec_t empty;
    const swb_task_spec_t *s = t->spec ? t->spec : &empty;
    json_t *o = json_object();
    if (!o)
        return NULL;
    int bad = 0;
    bad |= json_object_set_new(o, "id", json_integer((json_int_t)t->id));
    bad |= json_object_set_new(o, "channel",
                               json_string(s->channel ? s->channel : ""));
    if (s->sponsor)
        bad |= json_object_set_new(o, "sponsor", json_string(s->sponsor));
    bad |= json_object_set_new(o, "attempt",
                               json_integer((json_int_t)t->attempt));
    bad |= json_payload(o, &s->payload);
    bad |= json_object_set_new(o, "requirements", json_requirements(s));
    char *txt = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!txt)
        return NULL;
    size_t n = strlen(txt);
    char *out = realloc(txt, n + 2);
    if (!out) {
        free(txt);
        return NULL;
    }
    out[n] = '\n';
    out[n + 1] = 0;
    *len = n + 1;
    return out;
}

/* ---- starting the child -------------------------------------------------- */

/* The environment for the child: ours minus old SWB_* task variables,
 * plus the three of this task (pointing into vars). */
typedef struct job_env {
    char id[48];
    char channel[64];
    char attempt[48];
    char **envp; /* malloc'd array, strings borrowed */
} job_env_t;

static bool
job_env_build(job_env_t *e, const swb_task_t *t)
{
    size_t n = 0;
    while (environ && environ[n])
        n++;
    e->envp = calloc(n + 4, sizeof *e->envp);
    if (!e->envp)
        return false;
    snprintf(e->id, sizeof e->id, "SWB_TASK_ID=%llu",
             (unsigned long long)t->id);
    snprintf(e->channel, sizeof e->channel, "SWB_CHANNEL=%s",
             t->spec && t->spec->channel ? t->spec->channel : "");
    snprintf(e->attempt, sizeof e->attempt, "SWB_ATTEMPT=%llu",
             (unsigned long long)t->attempt);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "SWB_TASK_ID=", 12) != 0 &&
            strncmp(environ[i], "SWB_CHANNEL=", 12) != 0 &&
            strncmp(environ[i], "SWB_ATTEMPT=", 12) != 0)
            e->envp[k++] = environ[i];
    e->envp[k++] = e->id;
    e->envp[k++] = e->channel;
    e->envp[k++] = e->attempt;
    e->envp[k] = NULL;
    return true;
}

static void
close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void
set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* In the child, after fork: only async-signal-safe calls. */
static void __attribute__((noreturn))
child_exec(const char *cmd, int in, int out, int err, char **envp)
{
    struct sigaction dfl;
    sigset_t none;
    char *argv[] = {"sh", "-c", (char *)cmd, NULL};
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    (void)setpgid(0, 0);
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        _exit(127);
    /* Ignored signals stay ignored across exec: give the handler a clean
     * slate (SIGPIPE above all). */
    (void)sigaction(SIGPIPE, &dfl, NULL);
    (void)sigaction(SIGINT, &dfl, NULL);
    (void)sigaction(SIGTERM, &dfl, NULL);
    (void)sigaction(SIGCHLD, &dfl, NULL);
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
    execve("/bin/sh", argv, envp);
    _exit(127);
}

swb_err_t
swbw_job_start(const char *cmd, swb_task_t *task, swbw_job_t **out, char *why,
               size_t why_len)
{
    int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
    job_env_t env;
    memset(&env, 0, sizeof env);
    *out = NULL;
    swbw_job_t *j = calloc(1, sizeof *j);
    if (!j || !(j->in_buf = swbw_task_json(task, &j->in_len)) ||
        !job_env_build(&env, task)) {
        snprintf(why, why_len, "out of memory preparing the handler");
        if (j)
            free(j->in_buf);
        free(j);
        free(env.envp);
        return SWB_ENOMEM;
    }
    if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC) ||
        pipe2(perr, O_CLOEXEC)) {
        snprintf(why, why_len, "pipe: %s", strerror(errno));
        goto fail;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, why_len, "fork: %s", strerror(errno));
        goto fail;
    }
    if (pid == 0)
        child_exec(cmd, pin[0], pout[1], perr[1], env.envp);
    (void)setpgid(pid, pid); /* also in the child: no race either way */
    free(env.envp);
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    j->in_fd = pin[1];
    j->out_fd = pout[0];
    j->err_fd = perr[0];
    set_nonblock(j->in_fd);
    set_nonblock(j->out_fd);
    set_nonblock(j->err_fd);
    j->pid = pid;
    j->task = task;
    j->id = task->id;
    j->started = swb_mono_ms();
    *out = j;
    return SWB_OK;
fail:
    for (int i = 0; i < 2; i++) {
        close_fd(&pin[i]);
        close_fd(&pout[i]);
        close_fd(&perr[i]);
    }
    free(env.envp);
    free(j->in_buf);
    free(j);
    return SWB_ESYS;
}

/* ---- pumping ------------------------------------------------------------ */

size_t
swbw_job_pollfds(const swbw_job_t *j, zmq_pollitem_t *items)
{
    size_t n = 0;
    if (j->in_fd >= 0)
        items[n++] = (zmq_pollitem_t){NULL, j->in_fd, ZMQ_POLLOUT, 0};
    if (j->out_fd >= 0)
        items[n++] = (zmq_pollitem_t){NULL, j->out_fd, ZMQ_POLLIN, 0};
    if (j->err_fd >= 0)
        items[n++] = (zmq_pollitem_t){NULL, j->err_fd, ZMQ_POLLIN, 0};
    return n;
}

static void
job_write(swbw_job_t *j)
{
    while (j->in_fd >= 0 && j->in_off < j->in_len) {
        size_t n = j->in_len - j->in_off;
        ssize_t w = write(j->in_fd, j->in_buf + j->in_off,
                          n > HB_CHUNK ? HB_CHUNK : n);
        if (w > 0)
            j->in_off += (size_t)w;
        else if (w < 0 && errno == EINTR)
            continue;
        else if (w < 0 && errno == EAGAIN)
            return;
        else
            break; /* EPIPE: the handler does not read its stdin */
    }
    close_fd(&j->in_fd);
    free(j->in_buf);
    j->in_buf = NULL;
}

static void
job_read_out(swbw_job_t *j, uint64_t now)
{
    while (j->out_fd >= 0) {
        if (j->out_cap - j->out_len < HB_CHUNK) {
            size_t cap = j->out_cap ? j->out_cap * 2 : HB_CHUNK * 2;
            if (cap > SWBW_OUT_MAX + HB_CHUNK)
                cap = SWBW_OUT_MAX + HB_CHUNK;
            char *nb = cap > j->out_cap ? realloc(j->out, cap) : NULL;
            if (nb) {
                j->out = nb;
                j->out_cap = cap;
            }
        }
        size_t room = j->out_cap - j->out_len;
        if (!room) { /* out of memory: treat as over the limit */
            j->out_over = true;
            close_fd(&j->out_fd);
            swbw_job_kill(j, now);
            return;
        }
        ssize_t r = read(j->out_fd, j->out + j->out_len,
                         room > HB_CHUNK ? HB_CHUNK : room);
        if (r > 0) {
            j->out_len += (size_t)r;
            if (j->out_len > SWBW_OUT_MAX) {
                j->out_over = true;
                close_fd(&j->out_fd);
                swbw_job_kill(j, now);
            }
        } else if (r < 0 && errno == EINTR) {
            continue;
        } else if (r < 0 && errno == EAGAIN) {
            return;
        } else {
            close_fd(&j->out_fd); /* EOF or error */
        }
    }
}

static void
job_read_err(swbw_job_t *j)
{
    char buf[HB_CHUNK];
    size_t total = 0;
    while (j->err_fd >= 0 && total < HB_PUMP_MAX) {
        ssize_t r = read(j->err_fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN)
            return;
        if (r <= 0) {
            close_fd(&j->err_fd);
            return;
        }
        size_t n = (size_t)r;
        total += n;
        if (n >= SWBW_TAIL) {
            memcpy(j->tail, buf + n - SWBW_TAIL, SWBW_TAIL);
            j->tail_len = SWBW_TAIL;
        } else {
            size_t keep = j->tail_len < SWBW_TAIL - n ? j->tail_len
                                                      : SWBW_TAIL - n;
            memmove(j->tail, j->tail + j->tail_len - keep, keep);
            memcpy(j->tail + keep, buf, n);
            j->tail_len = keep + n;
        }
    }
}

void
swbw_job_pump(swbw_job_t *j, uint64_t now)
{
    job_write(j);
    job_read_out(j, now);
    job_read_err(j);
    if (!j->reaped) {
        int st = 0;
        pid_t r = waitpid(j->pid, &st, WNOHANG);
        if (r == j->pid || (r < 0 && errno == ECHILD)) {
            j->reaped = true;
            j->status = r == j->pid ? st : (127 << 8);
            j->ended = now;
        }
    }
    if (!j->reaped && j->kill_at && now >= j->kill_at) {
        (void)kill(-j->pid, SIGKILL);
        j->kill_at = UINT64_MAX; /* sent */
    }
}

bool
swbw_job_finished(swbw_job_t *j, uint64_t now)
{
    if (!j->reaped)
        return false;
    if (j->out_fd >= 0 || j->err_fd >= 0) {
        if (now - j->ended < SWBW_DRAIN_MS)
            return false;
        /* Children of the handler still hold the pipes: end them. */
        (void)kill(-j->pid, SIGKILL);
    }
    close_fd(&j->in_fd);
    close_fd(&j->out_fd);
    close_fd(&j->err_fd);
    return true;
}

void
swbw_job_kill(swbw_job_t *j, uint64_t now)
{
    if (j->reaped || j->kill_at)
        return;
    (void)kill(-j->pid, SIGTERM);
    j->kill_at = now + SWBW_KILL_AFTER;
}

/* ---- the outcome -------------------------------------------------------- */

void
swbw_job_outcome(const swbw_job_t *j, swbw_outcome_t *o)
{
    memset(o, 0, sizeof *o);
    if (j->out_over) {
        snprintf(o->reason, sizeof o->reason, "handler output over the "
                 "1 MiB limit (stdout is capped at %u bytes)", SWBW_OUT_MAX);
        return;
    }
    int st = j->status;
    char prefix[128];
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        o->done = true;
        return;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == SWBW_RETRY_EXIT) {
        o->retry = true;
        snprintf(prefix, sizeof prefix, "handler asked for a retry (exit %d)",
                 SWBW_RETRY_EXIT);
    } else if (WIFEXITED(st)) {
        snprintf(prefix, sizeof prefix, "handler exited with code %d",
                 WEXITSTATUS(st));
    } else {
        int sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
        snprintf(prefix, sizeof prefix, "handler killed by signal %d (%s)",
                 sig, strsignal(sig));
    }
    /* The tail of stderr, trimmed, cut to what the reason limit leaves
     * and started on a UTF-8 character boundary. */
    size_t n = j->tail_len;
    while (n && (j->tail[n - 1] == '\n' || j->tail[n - 1] == '\r' ||
                 j->tail[n - 1] == ' ' || j->tail[n - 1] == '\t'))
        n--;
    size_t budget = SWB_MAX_REASON - strlen(prefix) - 5; /* ": ..." */
    size_t from = n > budget ? n - budget : 0;
    bool cut = from > 0 || j->tail_len == SWBW_TAIL;
    while (from < n && ((unsigned char)j->tail[from] & 0xc0) == 0x80)
        from++;
    if (from >= n) {
        snprintf(o->reason, sizeof o->reason, "%s", prefix);
        return;
    }
    snprintf(o->reason, sizeof o->reason, "%s: %s%.*s", prefix,
             cut ? "..." : "", (int)(n - from), j->tail + from);
}

void
swbw_job_free(swbw_job_t **pj)
{
    swbw_job_t *j = pj ? *pj : NULL;
    if (!j)
        return;
    *pj = NULL;
    if (!j->reaped) {
        (void)kill(-j->pid, SIGKILL);
        while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    close_fd(&j->in_fd);
    close_fd(&j->out_fd);
    close_fd(&j->err_fd);
    free(j->in_buf);
    free(j->out);
    swb_worker_task_free(&j->task);
    free(j);
}
