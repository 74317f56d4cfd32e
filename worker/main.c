/*
 * main.c - `switchboard-worker`: runs on an agent machine and executes the
 * tasks the regional broker offers it.
 *
 * This file only turns the command line (PRODUCT.md section 6a; the option
 * names are a contract) into a worker profile, connects the session
 * (swb_worker.c) and hands over to one of the two modes: the poll loop of
 * `--exec CMD` (runner.c), which runs one handler per task (handler.c),
 * or the interactive agent console of `--console` (console.c). Bad
 * arguments exit 2 with a message naming the option and the value.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <czmq.h>

#include "console.h"
#include "runner.h"
#include "swb_domain.h"
#include "swb_worker.h"

#define PROG "switchboard-worker"
#define DEFAULT_BROKER "tcp://127.0.0.1:7701"
#define DEFAULT_GRACE_MS 30000
#define LINGER_MS 3000 /* how long the goodbye waits for ACKs */

typedef struct options {
    const char *broker;
    const char *site;
    const char *agent;
    const char *channels;
    const char *speaks;
    const char *writes;
    const char *skills;
    const char *sponsors;
    const char *capacity;
    const char *exec;
    const char *grace;
    const char *state; /* --state STATE[:REASON] */
    const char *cert;       /* --cert FILE: our secret certificate     */
    const char *server_key; /* --server-key FILE|Z85: the broker's key */
    bool console;
    bool accept;
} options_t;

static void
usage(FILE *f)
{
    fprintf(f,
        "usage: " PROG " --site ID --channels LIST --exec CMD [options]\n"
        "       " PROG " --site ID --channels LIST --console [options]\n"
        "\n"
        "Connects to a Switchboard broker as one agent.\n"
        "\n"
        "With --exec it runs CMD for every task it is offered (ringing\n"
        "offers are accepted at once): the task as one JSON object on\n"
        "stdin, SWB_TASK_ID, SWB_CHANNEL and SWB_ATTEMPT in the\n"
        "environment. Exit 0 completes the task with the handler's stdout\n"
        "(at most 1 MiB) as the result, exit 75 asks for a retry, any\n"
        "other exit fails the attempt with the tail of stderr as the\n"
        "reason.\n"
        "\n"
        "With --console a person works the tasks: it shows the agent\n"
        "state and the offers, and takes commands (ready, not-ready,\n"
        "break, accept, reject, done, fail, release, list, help, quit)\n"
        "one per line on stdin.\n"
        "\n"
        "  --broker EP        broker worker endpoint (default " DEFAULT_BROKER
        ")\n"
        "  --site ID          the site this agent works at (required)\n"
        "  --agent ID         agent id (default: HOSTNAME-PID)\n"
        "  --channels LIST    comma list of channels (required): %s\n"
        "  --speaks L:LEVEL   spoken languages, CEFR A1..C2 (en:C1,es:B2)\n"
        "  --writes L:LEVEL   written languages (en:B2)\n"
        "  --skills S:N       trained skills, levels 1..100 "
        "(banking:3,db-maintenance:2)\n"
        "  --sponsors LIST    sponsors certified for (acme,globex)\n"
        "  --capacity CH=N    tasks at once per channel (email=3,form=2;\n"
        "                     default 1 each; voice is always 1)\n"
        "  --exec CMD         handler command, run with /bin/sh -c\n"
        "  --console          the interactive agent console\n"
        "  --accept           non-voice offers ring too and wait for an\n"
        "                     accept (voice offers always do)\n"
        "  --state S[:REASON] initial agent state: ready (default),\n"
        "                     not-ready or break, with a reason code\n"
        "                     (not-ready:training)\n"
        "  --cert FILE        our secret certificate (switchboard keygen\n"
        "                     --role worker): speak CurveZMQ\n"
        "  --server-key K     the broker's public certificate file or its\n"
        "                     public key in Z85 (with --cert)\n"
        "  --grace SECONDS    on SIGTERM/SIGINT, time running handlers get\n"
        "                     before they are killed and their tasks\n"
        "                     released (default 30)\n"
        "  --help             this text\n",
        swb_channel_list());
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die_usage(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, PROG ": ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(2);
}

/* A plain name (site, agent, sponsor): 1..SWB_MAX_NAME bytes, printable. */
static void
check_name(const char *opt, const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > SWB_MAX_NAME)
        die_usage("%s: \"%s\" must be 1..%d bytes", opt, v, SWB_MAX_NAME);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < ' ' || *p == 0x7f)
            die_usage("%s: \"%s\" contains a control character", opt, v);
}

static void
parse_levels(const char *opt, const char *text, char sep, bool cefr,
             uint64_t max, size_t max_items, swb_levels_t *out)
{
    char why[256];
    if (swb_parse_levels(text, sep, cefr, max, out, why, sizeof why))
        die_usage("%s: %s", opt, why);
    if (out->n > max_items)
        die_usage("%s: %zu items, the limit is %zu", opt, out->n, max_items);
}

static void
parse_channels(const char *text, swb_strs_t *out)
{
    char why[256];
    if (swb_parse_strs(text, out, why, sizeof why))
        die_usage("--channels: %s", why);
    for (size_t i = 0; i < out->n; i++) {
        if (swb_channel_parse(out->v[i]) < 0)
            die_usage("--channels: unknown channel \"%s\"; valid channels: "
                      "%s", out->v[i], swb_channel_list());
        for (size_t k = 0; k < i; k++)
            if (strcmp(out->v[k], out->v[i]) == 0)
                die_usage("--channels: %s is named twice", out->v[i]);
    }
}

/* --capacity CH=N,...: channels must be among --channels; default 1. */
static void
parse_capacity(const char *text, const swb_strs_t *channels,
               swb_levels_t *out)
{
    swb_levels_t given;
    memset(&given, 0, sizeof given);
    if (text) {
        parse_levels("--capacity", text, '=', false, 100, SWB_CH_COUNT,
                     &given);
        for (size_t i = 0; i < given.n; i++) {
            const swb_level_t *l = &given.v[i];
            int ch = swb_channel_parse(l->name);
            if (ch < 0)
                die_usage("--capacity: unknown channel \"%s\"; valid "
                          "channels: %s", l->name, swb_channel_list());
            if (!swb_strs_has(channels, l->name))
                die_usage("--capacity: %s is not in --channels", l->name);
            if (swb_channel_is_voice(ch) && l->level != 1)
                die_usage("--capacity: %s=%llu: a call occupies the agent "
                          "wholly, voice capacity must be 1", l->name,
                          (unsigned long long)l->level);
        }
    }
    for (size_t i = 0; i < channels->n; i++) {
        const swb_level_t *l = swb_levels_find(&given, channels->v[i]);
        if (swb_levels_add(out, channels->v[i], l ? l->level : 1))
            die_usage("out of memory");
    }
    for (size_t i = 0; i < given.n; i++)
        free(given.v[i].name);
    free(given.v);
}

static uint64_t
parse_grace(const char *text)
{
    uint64_t ms;
    if (swb_parse_duration_ms(text, &ms) || ms > 86400000u)
        die_usage("--grace: \"%s\" is not a number of seconds 0..86400",
                  text);
    return ms;
}

/* --state STATE[:REASON]: STATE is ready, not-ready or break; the reason
 * code is 1..SWB_MAX_NAME printable bytes (not for ready). Fills state
 * (a static name) and reason (a copy in reason_buf, "" = none). */
static void
parse_state(const char *text, const char **state, char *reason_buf,
            size_t reason_len)
{
    const char *colon = strchr(text, ':');
    size_t n = colon ? (size_t)(colon - text) : strlen(text);
    char name[32];
    snprintf(name, sizeof name, "%.*s", (int)(n < 31 ? n : 31), text);
    int st = n < 31 ? swb_agent_state_parse(name) : -1;
    if (st != SWB_AG_READY && st != SWB_AG_NOT_READY && st != SWB_AG_BREAK)
        die_usage("--state: \"%s\" is not a state an agent can start in; "
                  "use ready, not-ready[:REASON] or break[:REASON]", text);
    *state = swb_agent_state_name(st);
    reason_buf[0] = 0;
    if (!colon)
        return;
    if (st == SWB_AG_READY)
        die_usage("--state: ready takes no reason (\"%s\")", text);
    check_name("--state", colon + 1);
    snprintf(reason_buf, reason_len, "%s", colon + 1);
}

static void
default_agent(char *buf, size_t n)
{
    char host[256];
    if (gethostname(host, sizeof host) != 0 || !host[0])
        snprintf(host, sizeof host, "agent");
    host[sizeof host - 1] = 0;
    char pid[24];
    snprintf(pid, sizeof pid, "-%d", (int)getpid());
    size_t room = SWB_MAX_NAME - strlen(pid);
    snprintf(buf, n, "%.*s%s", (int)room, host, pid);
}

static void
parse_args(int argc, char **argv, options_t *o)
{
    enum { O_SPEAKS = 256, O_WRITES, O_SKILLS, O_SPONSORS, O_CAPACITY,
           O_GRACE, O_CONSOLE, O_ACCEPT, O_STATE, O_CERT, O_SERVER_KEY };
    static const struct option longopts[] = {
        {"broker", required_argument, NULL, 'b'},
        {"site", required_argument, NULL, 's'},
        {"agent", required_argument, NULL, 'a'},
        {"channels", required_argument, NULL, 'c'},
        {"speaks", required_argument, NULL, O_SPEAKS},
        {"writes", required_argument, NULL, O_WRITES},
        {"skills", required_argument, NULL, O_SKILLS},
        {"sponsors", required_argument, NULL, O_SPONSORS},
        {"capacity", required_argument, NULL, O_CAPACITY},
        {"exec", required_argument, NULL, 'e'},
        {"grace", required_argument, NULL, O_GRACE},
        {"console", no_argument, NULL, O_CONSOLE},
        {"accept", no_argument, NULL, O_ACCEPT},
        {"state", required_argument, NULL, O_STATE},
        {"cert", required_argument, NULL, O_CERT},
        {"server-key", required_argument, NULL, O_SERVER_KEY},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->broker = DEFAULT_BROKER;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'b': o->broker = optarg; break;
        case 's': o->site = optarg; break;
        case 'a': o->agent = optarg; break;
        case 'c': o->channels = optarg; break;
        case O_SPEAKS: o->speaks = optarg; break;
        case O_WRITES: o->writes = optarg; break;
        case O_SKILLS: o->skills = optarg; break;
        case O_SPONSORS: o->sponsors = optarg; break;
        case O_CAPACITY: o->capacity = optarg; break;
        case 'e': o->exec = optarg; break;
        case O_GRACE: o->grace = optarg; break;
        case O_CONSOLE: o->console = true; break;
        case O_ACCEPT: o->accept = true; break;
        case O_STATE: o->state = optarg; break;
        case O_CERT: o->cert = optarg; break;
        case O_SERVER_KEY: o->server_key = optarg; break;
        case 'h': usage(stdout); exit(0);
        case ':':
            die_usage("%s needs a value (see --help)", argv[optind - 1]);
        default:
            die_usage("unknown option \"%s\" (see --help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        die_usage("unexpected argument \"%s\" (see --help)", argv[optind]);
    if (o->console && o->exec)
        die_usage("--console and --exec cannot be used together: the "
                  "console is for a person, --exec for a program");
    if (!o->site)
        die_usage("--site is required (see --help)");
    if (!o->channels)
        die_usage("--channels is required; valid channels: %s",
                  swb_channel_list());
    if (!o->exec && !o->console)
        die_usage("--exec CMD or --console is required (see --help)");
    if (o->exec && !*o->exec)
        die_usage("--exec: the command is empty");
    if (!*o->broker)
        die_usage("--broker: the endpoint is empty");
    if (!o->cert != !o->server_key)
        die_usage("--cert and --server-key go together (CurveZMQ needs "
                  "our key pair and the broker's public key)");
}

/* Builds the HELLO profile from the options; exits 2 on bad input. The
 * --state reason goes to reason_buf (HELLO has no field for it). */
static void
build_profile(const options_t *o, swb_m_hello_t *p, char *agent_buf,
              size_t agent_len, char *reason_buf, size_t reason_len)
{
    char why[256];
    memset(p, 0, sizeof *p);
    check_name("--site", o->site);
    if (o->agent) {
        check_name("--agent", o->agent);
        snprintf(agent_buf, agent_len, "%s", o->agent);
    } else {
        default_agent(agent_buf, agent_len);
    }
    p->site = (char *)o->site;
    p->agent = agent_buf;
    parse_channels(o->channels, &p->channels);
    if (o->speaks)
        parse_levels("--speaks", o->speaks, ':', true, 6, 32, &p->speaks);
    if (o->writes)
        parse_levels("--writes", o->writes, ':', true, 6, 32, &p->writes);
    if (o->skills)
        parse_levels("--skills", o->skills, ':', false, 100, 64, &p->skills);
    if (o->sponsors) {
        if (swb_parse_strs(o->sponsors, &p->sponsors, why, sizeof why))
            die_usage("--sponsors: %s", why);
        if (p->sponsors.n > 64)
            die_usage("--sponsors: %zu sponsors, the limit is 64",
                      p->sponsors.n);
        for (size_t i = 0; i < p->sponsors.n; i++)
            check_name("--sponsors", p->sponsors.v[i]);
    }
    parse_capacity(o->capacity, &p->channels, &p->capacity);
    p->accept = o->accept;
    reason_buf[0] = 0;
    if (o->state) {
        const char *st;
        parse_state(o->state, &st, reason_buf, reason_len);
        if (strcmp(st, "ready") != 0)
            p->state = (char *)st; /* static; NULL = ready */
    }

    /* Last check: the broker's decoder would accept this HELLO. */
    swb_msg_t m, back;
    void *buf;
    size_t len;
    swb_decode_err_t de;
    memset(&m, 0, sizeof m);
    memset(&de, 0, sizeof de);
    m.type = SWB_MSG_HELLO;
    m.u.hello = *p;
    if (swb_msg_encode(&m, &buf, &len))
        die_usage("out of memory");
    swb_err_t rc = swb_msg_decode(buf, len, &back, &de);
    free(buf);
    if (rc)
        die_usage("invalid profile: %s: %s", de.field, de.message);
    swb_msg_clear(&back);
}

/* Handlers and pipes must never land on fds 0..2. */
static void
ensure_std_fds(void)
{
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) >= 0)
            continue;
        int nul = open("/dev/null", O_RDWR);
        if (nul >= 0 && nul != fd)
            close(nul);
    }
}

int
main(int argc, char **argv)
{
    options_t o;
    swb_m_hello_t profile;
    char agent[SWB_MAX_NAME + 1];
    char reason[SWB_MAX_NAME + 1];
    ensure_std_fds();
    parse_args(argc, argv, &o);
    build_profile(&o, &profile, agent, sizeof agent, reason, sizeof reason);
    uint64_t grace = o.grace ? parse_grace(o.grace) : DEFAULT_GRACE_MS;
    const char *state = profile.state ? profile.state : "ready";

    swb_curve_t keys;
    if (o.cert) {
        char why[300];
        if (swb_curve_load(o.cert, o.server_key, &keys, why, sizeof why))
            die_usage("--cert/--server-key: %s", why);
    }
    zsys_handler_set(NULL); /* our own SIGINT/SIGTERM handling (wsignal.c) */
    swb_worker_t *w = NULL;
    swb_err_t rc = swb_worker_new_secure(o.broker, &profile,
                                         o.cert ? &keys : NULL, &w);
    profile.site = NULL; /* borrowed from argv / the stack / static */
    profile.agent = NULL;
    profile.state = NULL;
    swb_codec_free(swb_msg_schema(SWB_MSG_HELLO), &profile);
    if (rc == SWB_EINVAL)
        die_usage("--broker: cannot connect to \"%s\" (expected e.g. "
                  "tcp://HOST:PORT)", o.broker);
    if (rc) {
        fprintf(stderr, PROG ": cannot start the worker: %s\n",
                swb_strerror(rc));
        return 1;
    }
    if (reason[0] && swb_worker_set_state(w, state, reason) != SWB_OK) {
        swb_worker_destroy(&w, 0);
        die_usage("--state: invalid reason code \"%s\"", reason);
    }
    int code;
    if (o.console) {
        swbw_console_opts_t co = {o.broker, o.site, agent, LINGER_MS};
        code = swbw_console(&w, &co, STDIN_FILENO, stdout);
    } else {
        swbw_opts_t ro = {o.exec, o.broker, grace, LINGER_MS};
        code = swbw_run(&w, &ro);
    }
    zsys_shutdown();
    return code;
}
