/*
 * wsignal.c - the signal self-pipe of switchboard-worker (see wsignal.h).
 */
#include "wsignal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* Written by the handler, read by the loop: a handler can reach nothing
 * else. */
static int sig_pipe[2] = {-1, -1};

static void
sig_on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    ssize_t r = write(sig_pipe[1], &b, 1);
    (void)r; /* pipe full: a wake-up is already pending */
    errno = saved;
}

int
swbw_sig_install(void)
{
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = sig_on_signal;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL) ||
        sigaction(SIGCHLD, &sa, NULL))
        return -1;
    sa.sa_handler = SIG_IGN;
    sa.sa_flags = 0;
    if (sigaction(SIGPIPE, &sa, NULL))
        return -1;
    return sig_pipe[0];
}

size_t
swbw_sig_take(int *sigs, size_t n)
{
    unsigned char buf[64];
    size_t got = 0;
    ssize_t r;
    if (sig_pipe[0] < 0)
        return 0;
    while (got < n &&
           (r = read(sig_pipe[0], buf,
                     n - got < sizeof buf ? n - got : sizeof buf)) > 0)
        for (ssize_t i = 0; i < r; i++)
            sigs[got++] = buf[i];
    return got;
}

void
swbw_sig_remove(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGCHLD, &sa, NULL);
    for (int i = 0; i < 2; i++)
        if (sig_pipe[i] >= 0)
            close(sig_pipe[i]);
    sig_pipe[0] = sig_pipe[1] = -1;
}
