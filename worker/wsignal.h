/*
 * wsignal.h - signals as bytes on a self-pipe, for switchboard-worker's
 * poll loops (runner.c for --exec, console.c for --console).
 *
 * SIGTERM, SIGINT and SIGCHLD only write their number into a non-blocking
 * pipe whose read end the loop polls; all the work happens in the loop.
 * SIGPIPE is ignored. The pipe is the one piece of process-wide state a
 * signal handler can reach; install once per process.
 */
#ifndef SWBW_WSIGNAL_H
#define SWBW_WSIGNAL_H

#include <stddef.h>

/* Installs the handlers; returns the fd to poll for reading, or -1 with
 * errno set. */
int swbw_sig_install(void);

/* Reads the signals that arrived (at most n) into sigs without blocking;
 * returns how many. */
size_t swbw_sig_take(int *sigs, size_t n);

/* Restores SIGCHLD to its default and closes the pipe. */
void swbw_sig_remove(void);

#endif
