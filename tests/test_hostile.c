/*
 * test_hostile.c - hostile peers against a real broker (PRODUCT.md 6,
 * issue "Hostile input"): raw TCP garbage, a ZMTP greeting that never
 * finishes, frames at ZMQ_MAXMSGSIZE and one byte over, a ZMTP frame
 * header claiming 1 GiB, a multipart message that never ends, deeply
 * nested and huge-length msgpack.
 *
 * One broker (--max-payload 1000, so ZMQ_MAXMSGSIZE = 1000 + 64 KiB) is
 * started per test; each hostile case is time-bounded (a few seconds)
 * and followed by the same checks: the broker process is alive, its
 * VmRSS (/proc/PID/status) is back within SWBH_RSS_SLACK_KIB of the
 * baseline taken after start-up, a normal client still gets a submit
 * and a status, and the worker endpoint still answers a bad frame with
 * an ERROR. Raw sockets are plain POSIX TCP sockets; raw frames use a
 * czmq DEALER.
 *
 * Does not: test CURVE/ZAP (the authentication tests do that).
 */
#include <czmq.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "swb_client.h"
#include "swbtest.h"

#if defined(__SANITIZE_ADDRESS__)
#define SWBH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SWBH_ASAN 1
#endif
#endif

/* How far above its baseline the broker's RSS may be after a case. The
 * sanitizer build keeps freed memory in quarantine (limited below) and
 * has larger allocator caches. */
#ifdef SWBH_ASAN
#define SWBH_RSS_SLACK_KIB (32 * 1024)
#define SWBH_RSS_CHECKED 0
#else
#define SWBH_RSS_SLACK_KIB (20 * 1024)
#define SWBH_RSS_CHECKED 1
#endif

#define SWBH_MAX_PAYLOAD 1000
#define SWBH_MAX_MSG (SWBH_MAX_PAYLOAD + 65536)

/* ---- helpers ---- */

/* VmRSS of pid in KiB, or -1. */
static long
rss_kib(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kib = -1;
    char line[256];
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    fclose(f);
    return kib;
}

/* A plain TCP socket connected to "tcp://127.0.0.1:PORT", or -1. Sends
 * and receives time out after ms. */
static int
tcp_connect(const char *ep, int ms)
{
    const char *colon = strrchr(ep, ':');
    if (!colon)
        return -1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)atoi(colon + 1));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Writes what it can; a peer that hangs up (EPIPE, ECONNRESET) or a
 * timeout ends it. Returns the bytes written. */
static size_t
write_some(int fd, const void *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, (const char *)buf + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    return off;
}

/* Reads and drops what the peer sends until it closes (true) or nothing
 * comes for the socket's receive timeout / until deadline (false). */
static bool
peer_closes(int fd, int ms)
{
    int64_t end = swbt_now_ms() + ms;
    char buf[4096];
    while (swbt_now_ms() < end) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0)
            return true;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
            errno != EINTR)
            return true; /* ECONNRESET */
    }
    return false;
}

static zframe_t *
raw_one(const char *ep, const void *data, size_t len, int ms)
{
    const void *f[] = {data};
    size_t l[] = {len};
    return swbt_raw_exchange(ep, f, l, 1, ms);
}

/* A broker for one test, with its baseline RSS and a normal client. */
typedef struct hostile {
    char *dir;
    swbt_broker_t b;
    swb_client_t *c;
    long base_kib;
    long peak_kib; /* highest RSS seen during a case (for the report) */
} hostile_t;

static uint64_t
submit_and_status(hostile_t *h, const char *text)
{
    swb_task_spec_t s = swbt_spec("email", text);
    uint64_t id = 0;
    swb_err_t rc = swb_client_submit(h->c, &s, &id, NULL);
    if (rc != SWB_OK) {
        fprintf(stderr, "  submit: %s: %s\n", swb_err_name(rc),
                swb_client_last_error(h->c));
        return 0;
    }
    swb_task_t t;
    rc = swb_client_status(h->c, id, &t, NULL);
    if (rc != SWB_OK) {
        fprintf(stderr, "  status: %s: %s\n", swb_err_name(rc),
                swb_client_last_error(h->c));
        return 0;
    }
    uint64_t got = t.id;
    swb_codec_free(&swb_task_schema, &t);
    return got == id ? id : 0;
}

static void
hostile_stop(hostile_t *h)
{
    swb_client_destroy(&h->c);
    if (h->b.pid > 0)
        swbt_broker_stop(&h->b, SIGTERM);
    swbt_broker_free(&h->b);
    swbt_rmdir(h->dir);
    free(h->dir);
}

static int
hostile_start(hostile_t *h, const char *tag)
{
    memset(h, 0, sizeof *h);
    h->dir = swbt_tempdir(tag);
    const char *args[] = {"--max-payload", "1000", NULL};
    bool ok = swbt_broker_start(&h->b, h->dir, args) == 0 &&
              swb_client_new(h->b.client_ep, swbt_ms(5000), &h->c) == SWB_OK;
    /* Warm up (store, first connections) before the baseline. */
    for (int i = 0; ok && i < 20; i++)
        ok = submit_and_status(h, "warm-up") != 0;
    if (ok) {
        swbt_sleep_ms(200);
        h->base_kib = rss_kib(h->b.pid);
        ok = h->base_kib > 0;
    }
    if (!ok) {
        fprintf(stderr, "  the broker did not start or serve\n");
        hostile_stop(h);
        return -1;
    }
    return 0;
}

static void
note_peak(hostile_t *h)
{
    long k = rss_kib(h->b.pid);
    if (k > h->peak_kib)
        h->peak_kib = k;
}

/* A failed check that does not leave the test (so the broker is still
 * stopped at its end). */
#define SURVIVE_FAIL_(...)                                                    \
    do {                                                                       \
        fprintf(stderr, "  FAIL %s:%d: ", __FILE__, __LINE__);                 \
        fprintf(stderr, __VA_ARGS__);                                          \
        fprintf(stderr, "\n");                                                 \
        swbt_failed++;                                                         \
    } while (0)

/*
 * After a case: alive, RSS back near the baseline (polled for up to 3 s,
 * as libzmq tears connections down on its I/O thread), a client served
 * and the worker endpoint answering. Failures are counted, not returned.
 */
static void
check_survived(hostile_t *h, const char *what)
{
    if (swbt_wait_exit(h->b.pid, 0) != -1) {
        SURVIVE_FAIL_("%s: the broker is gone", what);
        h->b.pid = -1;
        return;
    }
    long rss = rss_kib(h->b.pid);
    for (int i = 0; i < 30 && rss > h->base_kib + SWBH_RSS_SLACK_KIB; i++) {
        swbt_sleep_ms(100);
        rss = rss_kib(h->b.pid);
    }
    fprintf(stderr, "  %-28s rss %ld KiB (baseline %ld, peak %ld)\n", what,
            rss, h->base_kib, h->peak_kib > rss ? h->peak_kib : rss);
    /* AddressSanitizer keeps freed memory in its quarantine and does not
     * hand it back, so the figure only means something without it */
    if (rss <= 0 || (SWBH_RSS_CHECKED && rss > h->base_kib + SWBH_RSS_SLACK_KIB))
        SURVIVE_FAIL_("%s: rss %ld KiB > baseline %ld + %d KiB", what, rss,
                      h->base_kib, SWBH_RSS_SLACK_KIB);
    if (!submit_and_status(h, "still served"))
        SURVIVE_FAIL_("%s: a normal submit and status failed", what);
    zframe_t *r = raw_one(h->b.worker_ep, "\xc1", 1, swbt_ms(3000));
    if (!swbt_frame_has(r, "malformed"))
        SURVIVE_FAIL_("%s: the worker endpoint did not answer", what);
    zframe_destroy(&r);
    h->peak_kib = 0;
}

/* ---- cases ---- */

/* Random bytes on plain TCP connections to both endpoints: some start
 * like a ZMTP/3 signature (0xFF), most not. */
static void
test_raw_tcp_garbage(void)
{
    hostile_t h;
    ASSERT_INT_EQ(hostile_start(&h, "garbage"), 0);
    const char *eps[2] = {h.b.client_ep, h.b.worker_ep};
    unsigned seed = 12345;
    static unsigned char buf[64 * 1024];
    for (int side = 0; side < 2; side++) {
        for (int round = 0; round < 8; round++) {
            for (size_t i = 0; i < sizeof buf; i++)
                buf[i] = (unsigned char)(rand_r(&seed) >> 7);
            if (round % 2)
                buf[0] = 0xff;
            int fd = tcp_connect(eps[side], swbt_ms(1000));
            ASSERT_TRUE(fd >= 0);
            write_some(fd, buf, (size_t)1 << (10 + round % 7));
            note_peak(&h);
            peer_closes(fd, 200);
            close(fd);
        }
        check_survived(&h, side ? "garbage (workers)" : "garbage (clients)");
    }
    hostile_stop(&h);
}

/* Connections that send the first 10 bytes of a ZMTP/3 greeting (the
 * signature and major version) and then nothing, held open while normal
 * clients are served. */
static void
test_greeting_never_finishes(void)
{
    hostile_t h;
    ASSERT_INT_EQ(hostile_start(&h, "greeting"), 0);
    static const unsigned char sig[10] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f};
    enum { N = 64 };
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = tcp_connect(i % 2 ? h.b.worker_ep : h.b.client_ep,
                             swbt_ms(1000));
        if (fds[i] >= 0)
            write_some(fds[i], sig, sizeof sig - (size_t)(i % 3));
    }
    int64_t end = swbt_now_ms() + 3000;
    int served = 0;
    while (swbt_now_ms() < end) {
        served += submit_and_status(&h, "beside stalled greetings") != 0;
        note_peak(&h);
        swbt_sleep_ms(100);
    }
    ASSERT_INT_GE(served, 10);
    for (int i = 0; i < N; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    check_survived(&h, "stalled greetings");
    hostile_stop(&h);
}

/* A frame of exactly ZMQ_MAXMSGSIZE bytes is read and refused with an
 * ERROR; one byte more and libzmq drops the connection (no reply). A
 * payload of exactly --max-payload is accepted, one byte more refused. */
static void
test_frames_at_limit_and_one_over(void)
{
    hostile_t h;
    ASSERT_INT_EQ(hostile_start(&h, "limit"), 0);
    const char *eps[2] = {h.b.client_ep, h.b.worker_ep};
    char *buf = calloc(1, SWBH_MAX_MSG + 1);
    ASSERT_TRUE(buf != NULL);
    buf[0] = (char)0xc1;
    for (int side = 0; side < 2; side++) {
        zframe_t *r = raw_one(eps[side], buf, SWBH_MAX_MSG, swbt_ms(3000));
        ASSERT_TRUE(swbt_frame_has(r, "malformed"));
        zframe_destroy(&r);
        r = raw_one(eps[side], buf, SWBH_MAX_MSG + 1, swbt_ms(1000));
        ASSERT_TRUE(r == NULL);
        zframe_destroy(&r);
    }
    free(buf);
    static char p[SWBH_MAX_PAYLOAD + 2];
    memset(p, 'p', SWBH_MAX_PAYLOAD);
    swb_task_spec_t s = swbt_spec("email", p);
    uint64_t id;
    ASSERT_INT_EQ(swb_client_submit(h.c, &s, &id, NULL), SWB_OK);
    p[SWBH_MAX_PAYLOAD] = 'p';
    s = swbt_spec("email", p);
    ASSERT_INT_EQ(swb_client_submit(h.c, &s, &id, NULL), SWB_ETOOBIG);
    ASSERT_STR_EQ(swb_client_last_field(h.c), "task.payload");
    check_survived(&h, "frames at the limit");
    hostile_stop(&h);
}

/* Reads exactly len bytes (false on close, error or timeout). */
static bool
read_exact(int fd, void *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = recv(fd, (char *)buf + off, len - off, 0);
        if (n <= 0)
            return false;
        off += (size_t)n;
    }
    return true;
}

/* A plain TCP connection that has done the ZMTP/3.0 NULL handshake by
 * hand as a DEALER, in the protocol's order: our greeting, the broker's
 * greeting (64 bytes), our READY with Socket-Type, the broker's READY
 * (a short command frame). Returns the socket, or -1. (libzmq 4.3.4
 * drops a peer whose READY and first frame arrive in one segment with
 * the greeting, so each step waits for the broker's.) */
static int
zmtp_null_connect(const char *ep, int ms)
{
    unsigned char greet[64] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0};
    memcpy(greet + 12, "NULL", 4);
    /* READY command: flags 0x04 (command), size, "\5READY",
     * "\13Socket-Type" + 4-byte length + "DEALER". */
    unsigned char ready[2 + 6 + 12 + 4 + 6];
    size_t n = 0;
    ready[n++] = 0x04;
    ready[n++] = (unsigned char)(sizeof ready - 2);
    memcpy(ready + n, "\x05READY", 6);
    n += 6;
    memcpy(ready + n, "\x0bSocket-Type", 12);
    n += 12;
    memcpy(ready + n, "\0\0\0\x06" "DEALER", 10);
    n += 10;
    int fd = tcp_connect(ep, ms);
    if (fd < 0)
        return -1;
    unsigned char got[64 + 2 + 255];
    if (write_some(fd, greet, sizeof greet) != sizeof greet ||
        !read_exact(fd, got, 64) || write_some(fd, ready, n) != n ||
        !read_exact(fd, got + 64, 2) || got[64] != 0x04 ||
        !read_exact(fd, got + 66, got[65])) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends one complete frame holding 0xc1 on a hand-made connection and
 * reads until the broker's ERROR ("malformed") arrives: proves the
 * handshake above is one libzmq accepts. */
static bool
zmtp_handshake_ok(int fd, int ms)
{
    static const unsigned char bad[3] = {0x00, 0x01, 0xc1};
    if (write_some(fd, bad, sizeof bad) != sizeof bad)
        return false;
    static char got[8192];
    size_t n = 0;
    int64_t end = swbt_now_ms() + ms;
    while (swbt_now_ms() < end && n < sizeof got) {
        ssize_t r = recv(fd, got + n, sizeof got - n, 0);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
            return false;
        if (r > 0)
            n += (size_t)r;
        if (memmem(got, n, "malformed", 9))
            return true;
    }
    return false;
}

/* A frame header claiming 2^30 bytes and a few bytes of it, then a
 * stall: the broker must drop the connection without allocating the
 * claim. */
static void
test_one_gib_frame_claim(void)
{
    hostile_t h;
    ASSERT_INT_EQ(hostile_start(&h, "gib"), 0);
    /* Message frame: flags 0x02 (long), 8-byte big-endian size 2^30. */
    unsigned char head[9 + 16] = {0x02, 0, 0, 0, 0, 0x40, 0, 0, 0};
    memset(head + 9, 'x', 16);
    const char *eps[2] = {h.b.client_ep, h.b.worker_ep};
    for (int side = 0; side < 2; side++) {
        int fd = zmtp_null_connect(eps[side], swbt_ms(500));
        ASSERT_TRUE(fd >= 0);
        ASSERT_TRUE(zmtp_handshake_ok(fd, swbt_ms(3000)));
        write_some(fd, head, sizeof head);
        bool closed = peer_closes(fd, swbt_ms(3000));
        note_peak(&h);
        close(fd);
        ASSERT_TRUE(closed);
        check_survived(&h, side ? "1 GiB claim (workers)"
                                : "1 GiB claim (clients)");
    }
    hostile_stop(&h);
}

/* A hand-written ZMTP peer sends 255-byte frames, all with MORE, for
 * about 3 s (at most 16 MiB), while a normal client is served; then it
 * goes away without ever ending the message. (A libzmq DEALER would not
 * send an unfinished message at all.) libzmq holds an unfinished message
 * in the connection's pipe, so the broker's memory grows during the case
 * (the peak is printed); it must come back once the connection closes. */
/* One endless message on a fresh hand-made connection to ep: frames of
 * 255 bytes, all with MORE, for about 3 s or 16 MiB, a normal submit
 * beside it every 16 chunks; then the connection is closed. Returns the
 * submits served meanwhile. */
static int
endless_multipart(hostile_t *h, const char *ep)
{
    int fd = zmtp_null_connect(ep, swbt_ms(500));
    if (fd < 0 || !zmtp_handshake_ok(fd, swbt_ms(3000))) {
        fprintf(stderr, "  endless multipart: no handshake\n");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    enum { FRAMES = 256, FLEN = 2 + 255 };
    static unsigned char chunk[FRAMES * FLEN];
    for (int i = 0; i < FRAMES; i++) {
        chunk[i * FLEN] = 0x01; /* MORE, short */
        chunk[i * FLEN + 1] = 255;
        memset(chunk + i * FLEN + 2, 'm', 255);
    }
    int64_t end = swbt_now_ms() + 3000;
    size_t sent = 0;
    int served = 0, rounds = 0, stalls = 0;
    const char *why = "time or size bound";
    char whybuf[128];
    while (swbt_now_ms() < end && sent < (size_t)16 << 20) {
        errno = 0;
        size_t n = write_some(fd, chunk, sizeof chunk);
        sent += n;
        if (n < sizeof chunk) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                snprintf(whybuf, sizeof whybuf,
                         "the broker closing the connection (%s)",
                         strerror(errno));
                why = whybuf;
                break;
            }
            why = "the broker stopped reading (send timed out)";
            stalls++;
        }
        if (++rounds % 16 == 0 || n < sizeof chunk) {
            served += submit_and_status(h, "beside a long message") != 0;
            note_peak(h);
        }
    }
    note_peak(h);
    close(fd);
    swbt_sleep_ms(1000);
    fprintf(stderr, "  endless multipart: %zu frames, %zu KiB sent, "
            "peak rss %ld KiB, %d stalls, ended by %s; rss 1 s after "
            "close %ld KiB\n", sent / FLEN, sent / 1024, h->peak_kib, stalls,
            why, rss_kib(h->b.pid));
    return served;
}

/* A hand-written ZMTP peer (a libzmq DEALER would not send an unfinished
 * message at all) sends a message that never ends, twice per endpoint,
 * while a normal client is served. libzmq keeps an unfinished message in
 * the connection's pipe (ZMQ_MAXMSGSIZE limits each frame, not the
 * message), so the broker's memory grows during the case (the peak is
 * printed); it must come back once the connection closes. (Found on
 * 2026-11-22: it does not. 4 x 16 MiB leave the broker about 40 MiB
 * above its baseline for good; the memory is freed but kept by glibc in
 * the I/O thread's arena: malloc_trim(0) in the broker gives it back.) */
static void
test_multipart_never_ends(void)
{
    hostile_t h;
    ASSERT_INT_EQ(hostile_start(&h, "multipart"), 0);
    const char *eps[2] = {h.b.client_ep, h.b.worker_ep};
    for (int i = 0; i < 4; i++)
        ASSERT_INT_GE(endless_multipart(&h, eps[i / 2]), 1);
    check_survived(&h, "endless multipart");
    hostile_stop(&h);
}

/* msgpack nested far deeper than 8 levels, and lengths or counts that
 * claim up to 4 GiB in a few bytes, bare and inside a submit envelope:
 * each gets an ERROR, nothing is allocated for the claims. */
static void
test_nested_and_huge_msgpack(void)
{
    hostile_t h;
    ASSERT_INT_EQ(hostile_start(&h, "msgpack"), 0);
    const char *eps[2] = {h.b.client_ep, h.b.worker_ep};
    static const char env[] = "\x93\x01\xa6submit\x81\xa4task\x81\xa7"
                              "channel";
    size_t envlen = sizeof env - 1;
    size_t deep = 60000;
    unsigned char *buf = malloc(envlen + deep + 1);
    ASSERT_TRUE(buf != NULL);
    static const char *const huge[] = {
        "\xdd\xff\xff\xff\xff", /* array32 */
        "\xdf\xff\xff\xff\xff", /* map32   */
        "\xdb\xff\xff\xff\xff", /* str32   */
        "\xc6\xff\xff\xff\xff", /* bin32   */
        "\xc9\xff\xff\xff\xff\x01", /* ext32 */
        "\xdc\xff\xff",         /* array16 */
        "\xde\xff\xff",         /* map16   */
    };
    for (int side = 0; side < 2; side++) {
        for (int wrap = 0; wrap < 2; wrap++) {
            size_t off = wrap ? envlen : 0;
            if (wrap)
                memcpy(buf, env, envlen);
            /* 0x91: array of one; 0x81 + fixstr key: map of one */
            for (int kind = 0; kind < 2; kind++) {
                size_t k = off;
                while (k + 2 < off + deep) {
                    if (kind == 0) {
                        buf[k++] = 0x91;
                    } else {
                        buf[k++] = 0x81;
                        buf[k++] = 0xa0;
                    }
                }
                buf[k++] = 0xc0;
                zframe_t *r = raw_one(eps[side], buf, k, swbt_ms(3000));
                ASSERT_TRUE(swbt_frame_has(r, "malformed"));
                zframe_destroy(&r);
            }
            for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
                size_t hl = huge[i][0] == '\xdc' || huge[i][0] == '\xde'
                                ? 3
                                : huge[i][0] == '\xc9' ? 6 : 5;
                memcpy(buf + off, huge[i], hl);
                zframe_t *r = raw_one(eps[side], buf, off + hl, swbt_ms(3000));
                ASSERT_TRUE(swbt_frame_has(r, "malformed"));
                zframe_destroy(&r);
            }
            note_peak(&h);
        }
    }
    free(buf);
    check_survived(&h, "nested and huge msgpack");
    hostile_stop(&h);
}

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
#ifdef SWBH_ASAN
    /* Keep the broker's freed memory out of a large quarantine, so that
     * its RSS can come back near the baseline. */
    const char *old = getenv("ASAN_OPTIONS");
    char opts[1024];
    snprintf(opts, sizeof opts, "%s%squarantine_size_mb=8", old ? old : "",
             old && *old ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
#endif
    zsys_init();
    zsys_handler_set(NULL);
    SWB_RUN(test_raw_tcp_garbage);
    SWB_RUN(test_greeting_never_finishes);
    SWB_RUN(test_frames_at_limit_and_one_over);
    SWB_RUN(test_one_gib_frame_claim);
    SWB_RUN(test_multipart_never_ends);
    SWB_RUN(test_nested_and_huge_msgpack);
    zsys_shutdown();
    return SWB_TEST_EXIT();
}
