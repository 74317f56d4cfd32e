/*
 * main.c - switchboard-broker: parse settings, open the broker, run it
 * until SIGINT or SIGTERM, close it cleanly. Exit codes: 0 clean stop,
 * 1 could not start (store, endpoints), 2 bad arguments or config.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <czmq.h>

#include "broker.h"
#include "config.h"
#include "swb_log.h"

static volatile sig_atomic_t swb_stop;

static void
on_signal(int sig)
{
    (void)sig;
    swb_stop = 1;
}

int
main(int argc, char **argv)
{
    swb_config_t cfg;
    bool exit_now;
    char why[512] = "";
    zsys_init();
    zsys_handler_set(NULL); /* our own handlers below */
    if (swb_config_parse(argc, argv, &cfg, &exit_now, why, sizeof why)) {
        fprintf(stderr, "switchboard-broker: %s\n", why);
        fprintf(stderr, "try 'switchboard-broker --help'\n");
        swb_config_free(&cfg);
        return 2;
    }
    if (exit_now) {
        swb_config_free(&cfg);
        return 0;
    }
    swb_log_set_level((swb_log_level_t)cfg.log_level);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    swb_broker_t *b = NULL;
    swb_err_t rc = swb_broker_new(&cfg, &b, why, sizeof why);
    if (rc) {
        swb_log(SWB_LOG_ERROR, "broker", "start_failed", "code=%s why=\"%s\"",
                swb_err_name(rc), why);
        fprintf(stderr, "switchboard-broker: cannot start: %s\n", why);
        swb_config_free(&cfg);
        return 1;
    }
    rc = swb_broker_run(b, &swb_stop);
    swb_broker_destroy(&b);
    swb_log(SWB_LOG_INFO, "broker", "stopped", NULL);
    swb_config_free(&cfg);
    zsys_shutdown();
    return rc ? 1 : 0;
}
