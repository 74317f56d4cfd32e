/*
 * console.c - `switchboard-worker --console`, the agent console for a
 * person (see console.h).
 *
 * One zmq_poll over the worker socket, the command input and the signal
 * self-pipe (wsignal.c), waking at least every 100 ms. Each pass reads
 * what is there of the input and runs every complete line through the
 * command table, drains the session (swb_worker_next) and prints its
 * events, and reminds the agent of ringing offers every few seconds.
 *
 * The console owns the tasks offered to it (in offer order, which gives
 * the "oldest" default for ID) until the agent answers them. All output
 * goes to one stream and is flushed per message, so a pipe sees it at
 * once and a terminal keeps it in order.
 *
 * Not here: option parsing (main.c), the protocol (swb_worker.c).
 */
#include "console.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "swb_domain.h"
#include "wsignal.h"

#define CON_TICK_MS 100
#define CON_LINE_MAX 4096   /* bytes of one command line */
#define CON_REMIND_MS 5000  /* ring reminders */
#define CON_PREVIEW 72      /* bytes of payload shown */

typedef struct con_task {
    swb_task_t *task;   /* owned */
    uint64_t remind_at; /* mono ms of the next ring reminder, 0 = none */
} con_task_t;

typedef struct console {
    swb_worker_t *w;
    const swbw_console_opts_t *o;
    FILE *out;
    int in_fd;
    int sigfd;
    bool tty;
    con_task_t *tasks; /* in offer order */
    size_t ntasks;
    size_t captasks;
    char line[CON_LINE_MAX + 1];
    size_t nline;
    bool overlong; /* skipping the rest of a too long line */
    bool connected;
    bool quit;
    int rc;
} console_t;

typedef struct con_cmd {
    const char *name;
    void (*fn)(console_t *c, char *args);
    const char *usage;
    const char *help;
} con_cmd_t;

/* ---- output ------------------------------------------------------------- */

static void
con_say(console_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
con_say(console_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(c->out, fmt, ap);
    va_end(ap);
    fputc('\n', c->out);
    fflush(c->out);
}

static void
con_prompt(console_t *c)
{
    if (c->tty && !c->quit) {
        fputs("> ", c->out);
        fflush(c->out);
    }
}

static unsigned long long
con_secs(uint64_t ms)
{
    return (unsigned long long)((ms + 999) / 1000);
}

/* Length of the valid UTF-8 sequence at p[i] (of n bytes), 0 if invalid. */
static size_t
con_utf8_at(const unsigned char *p, size_t n, size_t i)
{
    unsigned ch = p[i];
    size_t extra = ch < 0x80 ? 0 : ch < 0xc2 ? 9 : ch < 0xe0 ? 1
                   : ch < 0xf0 ? 2 : ch < 0xf5 ? 3 : 9;
    if (extra == 9 || i + extra >= n + (extra ? 0 : 1))
        return 0;
    for (size_t k = 1; k <= extra; k++)
        if ((p[i + k] & 0xc0) != 0x80)
            return 0;
    return extra + 1;
}

/* The payload as one short line of text in buf: control characters as
 * spaces, cut at CON_PREVIEW bytes with "..."; "(N bytes of binary)"
 * when it is not text. */
static const char *
con_preview(const swb_bytes_t *b, char *buf, size_t n)
{
    const unsigned char *p = b->data;
    size_t o = 0, i = 0;
    if (!b->len) {
        snprintf(buf, n, "(empty)");
        return buf;
    }
    while (i < b->len && o + 8 < n && o < CON_PREVIEW) {
        size_t k = con_utf8_at(p, b->len, i);
        if (!k || p[i] == 0) {
            snprintf(buf, n, "(%zu bytes of binary)", b->len);
            return buf;
        }
        if (k == 1 && (p[i] < ' ' || p[i] == 0x7f)) {
            if (o && buf[o - 1] != ' ')
                buf[o++] = ' ';
        } else {
            memcpy(buf + o, p + i, k);
            o += k;
        }
        i += k;
    }
    if (i < b->len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = 0;
    return buf;
}

/* "voice.inbound, sponsor acme, attempt 2" */
static const char *
con_describe(const swb_task_t *t, char *buf, size_t n)
{
    const swb_task_spec_t *s = t->spec;
    snprintf(buf, n, "%s, sponsor %s, attempt %llu",
             s && s->channel ? s->channel : "?",
             s && s->sponsor ? s->sponsor : "-",
             (unsigned long long)t->attempt);
    return buf;
}

/* ---- tasks -------------------------------------------------------------- */

static long
con_find(const console_t *c, uint64_t id)
{
    for (size_t i = 0; i < c->ntasks; i++)
        if (c->tasks[i].task && c->tasks[i].task->id == id)
            return (long)i;
    return -1;
}

/* Forgets entry i (its task must be freed or handed on already). */
static void
con_remove(console_t *c, long i)
{
    swb_worker_task_free(&c->tasks[i].task);
    memmove(&c->tasks[i], &c->tasks[i + 1],
            (c->ntasks - (size_t)i - 1) * sizeof *c->tasks);
    c->ntasks--;
}

static bool
con_add(console_t *c, swb_task_t *t, uint64_t ring, uint64_t now)
{
    if (c->ntasks == c->captasks) {
        size_t cap = c->captasks ? c->captasks * 2 : 8;
        con_task_t *nv = realloc(c->tasks, cap * sizeof *nv);
        if (!nv)
            return false;
        c->tasks = nv;
        c->captasks = cap;
    }
    c->tasks[c->ntasks].task = t;
    c->tasks[c->ntasks].remind_at =
        ring > CON_REMIND_MS ? now + CON_REMIND_MS : 0;
    c->ntasks++;
    return true;
}

static bool
con_ringing(const console_t *c, size_t i, uint64_t *left)
{
    return swb_worker_ringing(c->w, c->tasks[i].task->id, left);
}

/*
 * Picks the task a command is about: an ID (digits) at the start of
 * *args, taken off *args; else the oldest ringing offer (ringing) or the
 * oldest held task, those not ringing first. Prints why and returns -1
 * when there is none.
 */
static long
con_pick(console_t *c, char **args, bool ringing, const char *verb)
{
    char *a = *args;
    if (isdigit((unsigned char)*a)) {
        char *end;
        errno = 0;
        unsigned long long id = strtoull(a, &end, 10);
        if (!errno && (*end == 0 || *end == ' ')) {
            while (*end == ' ')
                end++;
            *args = end;
            long i = con_find(c, id);
            if (i < 0)
                con_say(c, "error: no task %llu here (type list)", id);
            return i;
        }
    }
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < c->ntasks; i++) {
            bool r = con_ringing(c, i, NULL);
            if (ringing ? r : (r == (pass == 1)))
                return (long)i;
        }
    con_say(c, "error: no %s to %s (type list)",
            ringing ? "ringing offer" : "task", verb);
    return -1;
}

/* An answer the library refused: say why. On ESTALE the task is gone:
 * entry i (or, when i < 0, the entry of id) is dropped. */
static void
con_answer_failed(console_t *c, long i, uint64_t id, swb_err_t rc)
{
    if (rc == SWB_ESTALE) { /* done & co. freed the task, accept not */
        con_say(c, "error: task %llu is no longer yours (the broker took "
                "it back)", (unsigned long long)id);
        if (i < 0)
            i = con_find(c, id);
        if (i >= 0)
            con_remove(c, i);
        return;
    }
    con_say(c, "error: task %llu: %s", (unsigned long long)id,
            swb_strerror(rc));
}

/* ---- commands ----------------------------------------------------------- */

static void
con_set_state(console_t *c, const char *state, const char *reason)
{
    swb_err_t rc = swb_worker_set_state(c->w, state, *reason ? reason : NULL);
    if (rc) {
        con_say(c, "error: the reason code must be at most %d bytes of "
                "text", SWB_MAX_NAME);
        return;
    }
    con_say(c, "state: %s%s%s%s", state, *reason ? " (" : "", reason,
            *reason ? ")" : "");
}

static void
cmd_ready(console_t *c, char *args)
{
    if (*args) {
        con_say(c, "error: ready takes no reason (usage: ready)");
        return;
    }
    con_set_state(c, "ready", "");
}

static void
cmd_not_ready(console_t *c, char *args)
{
    con_set_state(c, "not-ready", args);
}

static void
cmd_break(console_t *c, char *args)
{
    con_set_state(c, "break", args);
}

static void
cmd_accept(console_t *c, char *args)
{
    long i = con_pick(c, &args, true, "accept");
    if (i < 0)
        return;
    if (*args) {
        con_say(c, "error: accept takes only an ID (usage: accept [ID])");
        return;
    }
    swb_task_t *t = c->tasks[i].task;
    if (!con_ringing(c, (size_t)i, NULL)) {
        con_say(c, "task %llu is yours already", (unsigned long long)t->id);
        return;
    }
    swb_err_t rc = swb_worker_accept(c->w, t);
    if (rc) {
        con_answer_failed(c, -1, t->id, rc);
        return;
    }
    c->tasks[i].remind_at = 0;
    con_say(c, "accepted task %llu: it is yours; when finished: done %llu "
            "NOTES, fail %llu REASON or release %llu",
            (unsigned long long)t->id, (unsigned long long)t->id,
            (unsigned long long)t->id, (unsigned long long)t->id);
}

static void
cmd_reject(console_t *c, char *args)
{
    long i = con_pick(c, &args, true, "reject");
    if (i < 0)
        return;
    uint64_t id = c->tasks[i].task->id;
    swb_err_t rc = swb_worker_reject(c->w, &c->tasks[i].task,
                                     *args ? args : NULL);
    if (rc == SWB_ESTATE) {
        con_say(c, "error: task %llu is yours already; use release or "
                "fail", (unsigned long long)id);
        return;
    }
    if (rc) {
        con_answer_failed(c, i, id, rc);
        return;
    }
    con_remove(c, i);
    con_say(c, "rejected offer %llu", (unsigned long long)id);
}

static void
cmd_done(console_t *c, char *args)
{
    long i = con_pick(c, &args, false, "complete");
    if (i < 0)
        return;
    uint64_t id = c->tasks[i].task->id;
    swb_err_t rc = swb_worker_done(c->w, &c->tasks[i].task, args,
                                   strlen(args));
    if (rc) {
        con_answer_failed(c, i, id, rc);
        return;
    }
    con_remove(c, i);
    con_say(c, "task %llu done%s%s", (unsigned long long)id,
            *args ? ": " : "", args);
}

static void
cmd_fail(console_t *c, char *args)
{
    long i = con_pick(c, &args, false, "fail");
    if (i < 0)
        return;
    uint64_t id = c->tasks[i].task->id;
    swb_err_t rc = swb_worker_fail(c->w, &c->tasks[i].task,
                                   *args ? args : "failed by the agent",
                                   false);
    if (rc) {
        con_answer_failed(c, i, id, rc);
        return;
    }
    con_remove(c, i);
    con_say(c, "task %llu failed%s%s", (unsigned long long)id,
            *args ? ": " : "", args);
}

static void
cmd_release(console_t *c, char *args)
{
    long i = con_pick(c, &args, false, "release");
    if (i < 0)
        return;
    if (*args) {
        con_say(c, "error: release takes only an ID (usage: release [ID])");
        return;
    }
    uint64_t id = c->tasks[i].task->id;
    swb_err_t rc = swb_worker_release(c->w, &c->tasks[i].task);
    if (rc) {
        con_answer_failed(c, i, id, rc);
        return;
    }
    con_remove(c, i);
    con_say(c, "task %llu handed back", (unsigned long long)id);
}

static void
cmd_state(console_t *c, char *args)
{
    (void)args;
    const char *reason;
    const char *st = swb_worker_state(c->w, &reason);
    con_say(c, "state: %s%s%s%s, %s", st, reason ? " (" : "",
            reason ? reason : "", reason ? ")" : "",
            swb_worker_connected(c->w) ? "connected" : "not connected");
}

static void
cmd_list(console_t *c, char *args)
{
    cmd_state(c, args);
    if (!c->ntasks) {
        con_say(c, "no tasks held");
        return;
    }
    con_say(c, "%zu task%s held (oldest first):", c->ntasks,
            c->ntasks == 1 ? "" : "s");
    for (size_t i = 0; i < c->ntasks; i++) {
        const swb_task_t *t = c->tasks[i].task;
        char d[200], pv[CON_PREVIEW + 16], how[64];
        uint64_t left;
        if (con_ringing(c, i, &left))
            snprintf(how, sizeof how, "RINGING, %llu s left",
                     con_secs(left));
        else
            snprintf(how, sizeof how, "yours");
        con_say(c, "  %llu  %s  [%s]  %s", (unsigned long long)t->id,
                con_describe(t, d, sizeof d), how,
                t->spec ? con_preview(&t->spec->payload, pv, sizeof pv)
                        : "");
    }
}

static void cmd_help(console_t *c, char *args);

static void
cmd_quit(console_t *c, char *args)
{
    (void)args;
    c->quit = true;
}

static const con_cmd_t con_cmds[] = {
    {"ready", cmd_ready, "ready", "take offers"},
    {"not-ready", cmd_not_ready, "not-ready [REASON]",
     "take no offers (REASON: a code like lunch, training)"},
    {"break", cmd_break, "break [REASON]", "on a break: no offers"},
    {"accept", cmd_accept, "accept [ID]", "answer a ringing offer"},
    {"reject", cmd_reject, "reject [ID] [REASON]",
     "turn a ringing offer down (it goes to the next agent)"},
    {"done", cmd_done, "done [ID] [NOTES...]",
     "complete a task with the notes as its result"},
    {"fail", cmd_fail, "fail [ID] [REASON]", "the attempt failed (retried)"},
    {"release", cmd_release, "release [ID]", "hand a task back untouched"},
    {"list", cmd_list, "list", "state and held tasks"},
    {"state", cmd_state, "state", "the agent state"},
    {"help", cmd_help, "help", "this text"},
    {"quit", cmd_quit, "quit", "hand back held tasks and sign off"},
    {"exit", cmd_quit, NULL, NULL},
};

static void
cmd_help(console_t *c, char *args)
{
    (void)args;
    con_say(c, "commands (ID: a task id; default: the oldest ringing offer "
            "for accept/reject, else the oldest task):");
    for (size_t i = 0; i < sizeof con_cmds / sizeof con_cmds[0]; i++)
        if (con_cmds[i].usage)
            con_say(c, "  %-22s %s", con_cmds[i].usage, con_cmds[i].help);
}

/* Runs one command line. */
static void
con_run_line(console_t *c, char *line)
{
    for (char *p = line; *p; p++)
        if (*p == '\t' || *p == '\r')
            *p = ' ';
    while (*line == ' ')
        line++;
    size_t n = strlen(line);
    while (n && line[n - 1] == ' ')
        line[--n] = 0;
    if (!*line)
        return;
    char *args = strchr(line, ' ');
    if (args) {
        *args++ = 0;
        while (*args == ' ')
            args++;
    } else {
        args = line + n;
    }
    for (size_t i = 0; i < sizeof con_cmds / sizeof con_cmds[0]; i++) {
        if (strcmp(con_cmds[i].name, line) == 0) {
            con_cmds[i].fn(c, args);
            return;
        }
    }
    con_say(c, "error: unknown command \"%.64s\" (type help)", line);
}

/* Reads what the input has; runs complete lines. End of input = quit. */
static void
con_read_input(console_t *c)
{
    char buf[4096];
    ssize_t r = read(c->in_fd, buf, sizeof buf);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (r <= 0) {
        if (c->nline && !c->overlong) {
            c->line[c->nline] = 0;
            con_run_line(c, c->line);
        }
        c->nline = 0;
        c->quit = true;
        return;
    }
    for (ssize_t i = 0; i < r; i++) {
        if (buf[i] != '\n') {
            if (c->nline < CON_LINE_MAX)
                c->line[c->nline++] = buf[i];
            else
                c->overlong = true;
            continue;
        }
        c->line[c->nline] = 0;
        if (c->overlong)
            con_say(c, "error: line too long (the limit is %d bytes)",
                    CON_LINE_MAX);
        else if (!c->quit)
            con_run_line(c, c->line);
        c->nline = 0;
        c->overlong = false;
        con_prompt(c);
    }
}

/* ---- session events ----------------------------------------------------- */

static void
con_offer(console_t *c, swb_task_t *t, uint64_t ring, uint64_t now)
{
    unsigned long long id = (unsigned long long)t->id;
    char d[200], pv[CON_PREVIEW + 16];
    con_describe(t, d, sizeof d);
    con_preview(t->spec ? &t->spec->payload : &(swb_bytes_t){NULL, 0}, pv,
                sizeof pv);
    if (!con_add(c, t, ring, now)) {
        con_say(c, "error: out of memory; handing task %llu back", id);
        (void)swb_worker_release(c->w, &t);
        swb_worker_task_free(&t);
        return;
    }
    if (ring) {
        con_say(c, "OFFER %llu RINGING (%llu s): %s", id, con_secs(ring), d);
        con_say(c, "  payload: %s", pv);
        con_say(c, "  accept %llu | reject %llu [REASON]", id, id);
    } else {
        con_say(c, "TASK %llu assigned: %s", id, d);
        con_say(c, "  payload: %s", pv);
        con_say(c, "  when finished: done %llu NOTES | fail %llu REASON | "
                "release %llu", id, id, id);
    }
}

static void
con_revoke(console_t *c, const swb_wevent_t *ev)
{
    long i = con_find(c, ev->id);
    if (i >= 0)
        con_remove(c, i);
    if (ev->ringing)
        con_say(c, "offer %llu is gone: it rang out or was withdrawn",
                (unsigned long long)ev->id);
    else
        con_say(c, "task %llu was taken back by the broker (canceled or "
                "lease lost)", (unsigned long long)ev->id);
}

/* Drains the session; false on a fatal session error. */
static bool
con_session(console_t *c, uint64_t now)
{
    for (;;) {
        swb_wevent_t ev;
        swb_err_t rc = swb_worker_next(c->w, 0, &ev);
        if (rc == SWB_ETIMEOUT)
            break;
        if (rc) {
            con_say(c, "error: %s: %s", rc == SWB_EVERSION
                    ? "the broker speaks another protocol version"
                    : "the broker refused this agent",
                    swb_worker_last_error(c->w));
            c->rc = 3;
            return false;
        }
        if (ev.type == SWB_WEV_OFFER)
            con_offer(c, ev.task, ev.ring, now);
        else if (ev.type == SWB_WEV_REVOKE)
            con_revoke(c, &ev);
        else if (ev.type == SWB_WEV_STATE)
            con_say(c, "state: %s%s%s%s (set by the broker)", ev.state,
                    ev.reason ? " (" : "", ev.reason ? ev.reason : "",
                    ev.reason ? ")" : "");
    }
    bool up = swb_worker_connected(c->w);
    if (up != c->connected) {
        if (up)
            con_say(c, "connected to %s", c->o->broker);
        else
            con_say(c, "lost the broker: %s; reconnecting",
                    swb_worker_last_error(c->w));
        c->connected = up;
    }
    return true;
}

/* Reminds the agent of offers still ringing. */
static void
con_remind(console_t *c, uint64_t now)
{
    for (size_t i = 0; i < c->ntasks; i++) {
        con_task_t *e = &c->tasks[i];
        uint64_t left;
        if (!e->remind_at || now < e->remind_at)
            continue;
        if (!con_ringing(c, i, &left) || left == 0) {
            e->remind_at = 0;
            continue;
        }
        con_say(c, "offer %llu still ringing: %llu s left (accept %llu | "
                "reject %llu)", (unsigned long long)e->task->id,
                con_secs(left), (unsigned long long)e->task->id,
                (unsigned long long)e->task->id);
        e->remind_at = left > CON_REMIND_MS ? now + CON_REMIND_MS : 0;
    }
}

static void
con_signals(console_t *c)
{
    int sigs[16];
    size_t n = swbw_sig_take(sigs, 16);
    for (size_t i = 0; i < n; i++)
        if (sigs[i] == SIGINT || sigs[i] == SIGTERM)
            c->quit = true;
}

/* ---- the loop ----------------------------------------------------------- */

static void
con_loop(console_t *c)
{
    while (!c->quit) {
        zmq_pollitem_t items[3];
        int n = 0;
        void *zs = swb_worker_zsock(c->w);
        if (zs)
            items[n++] = (zmq_pollitem_t){zs, 0, ZMQ_POLLIN, 0};
        int in_at = n;
        items[n++] = (zmq_pollitem_t){NULL, c->in_fd, ZMQ_POLLIN, 0};
        items[n++] = (zmq_pollitem_t){NULL, c->sigfd, ZMQ_POLLIN, 0};
        if (zmq_poll(items, n, CON_TICK_MS) < 0 && zmq_errno() != EINTR) {
            con_say(c, "error: poll: %s", zmq_strerror(zmq_errno()));
            c->rc = 1;
            return;
        }
        uint64_t now = swb_mono_ms();
        con_signals(c);
        if (!con_session(c, now))
            return;
        if (items[in_at].revents & (ZMQ_POLLIN | ZMQ_POLLERR))
            con_read_input(c);
        con_remind(c, now);
    }
}

int
swbw_console(swb_worker_t **w, const swbw_console_opts_t *o, int in_fd,
             FILE *out)
{
    console_t c;
    memset(&c, 0, sizeof c);
    c.w = *w;
    c.o = o;
    c.out = out;
    c.in_fd = in_fd;
    c.tty = isatty(in_fd) && isatty(fileno(out));
    *w = NULL;
    c.sigfd = swbw_sig_install();
    if (c.sigfd < 0) {
        con_say(&c, "error: cannot set up signals: %s", strerror(errno));
        swb_worker_destroy(&c.w, 0);
        return 1;
    }
    const char *reason;
    const char *st = swb_worker_state(c.w, &reason);
    con_say(&c, "Switchboard agent console: agent %s at site %s, broker %s",
            o->agent, o->site, o->broker);
    con_say(&c, "state: %s%s%s%s. Type help for the commands.", st,
            reason ? " (" : "", reason ? reason : "", reason ? ")" : "");
    con_prompt(&c);
    con_loop(&c);
    size_t held = swb_worker_held(c.w);
    for (size_t i = 0; i < c.ntasks; i++)
        swb_worker_task_free(&c.tasks[i].task);
    free(c.tasks);
    if (c.rc != 3)
        con_say(&c, "signing off%s", held ? ", handing back held tasks" : "");
    swb_worker_destroy(&c.w, c.rc == 3 ? 0 : o->linger_ms);
    swbw_sig_remove();
    con_say(&c, "bye");
    return c.rc;
}
