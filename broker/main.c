/*
 * main.c - switchboard-broker: read settings, open the broker, run it
 * until SIGINT or SIGTERM, close it cleanly (SIGHUP re-reads the --keys
 * folder). Exit codes: 0 clean stop,
 * 1 could not start (store, endpoints), 2 bad arguments or config.
 *
 * A bad config never starts a broker: every problem found in the flags
 * and the file is printed (one line each, on stderr) before exit 2.
 * --check-config FILE does the same checks and stops there: exit 0 with a
 * summary on stdout, or 2 with every problem.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <czmq.h>

#include "broker.h"
#include "config.h"
#include "swb_log.h"

static volatile sig_atomic_t swb_stop;
static volatile sig_atomic_t swb_hup; /* re-read the --keys folder */

static void
on_signal(int sig)
{
    if (sig == SIGHUP)
        swb_hup = 1;
    else
        swb_stop = 1;
}

int
main(int argc, char **argv)
{
    swb_config_t cfg;
    swb_config_mode_t mode;
    swb_strs_t problems = {0};
    char why[512] = "";
    zsys_init();
    zsys_handler_set(NULL); /* our own handlers below */
    swb_err_t rc = swb_config_load(argc, argv, &cfg, &mode, &problems);
    if (rc || mode == SWB_CONFIG_CHECK) {
        for (size_t i = 0; i < problems.n; i++)
            fprintf(stderr, "switchboard-broker: %s\n", problems.v[i]);
        if (rc == SWB_ENOMEM)
            fprintf(stderr, "switchboard-broker: out of memory\n");
        if (rc && mode == SWB_CONFIG_CHECK)
            fprintf(stderr, "switchboard-broker: %zu problem%s; see "
                    "switchboard-broker --help-config\n", problems.n,
                    problems.n == 1 ? "" : "s");
        else if (rc)
            fprintf(stderr, "switchboard-broker: not started (%zu problem%s);"
                    " try --check-config FILE or --help\n", problems.n,
                    problems.n == 1 ? "" : "s");
        else
            swb_config_summary(&cfg, cfg.config_file, stdout);
        swb_codec_free_strs(&problems);
        swb_config_free(&cfg);
        zsys_shutdown();
        return rc ? 2 : 0;
    }
    if (mode == SWB_CONFIG_EXIT) {
        swb_config_free(&cfg);
        zsys_shutdown();
        return 0;
    }
    swb_log_set_level((swb_log_level_t)cfg.log_level);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    swb_broker_t *b = NULL;
    rc = swb_broker_new(&cfg, &b, why, sizeof why);
    if (rc) {
        swb_log(SWB_LOG_ERROR, "broker", "start_failed", "code=%s why=\"%s\"",
                swb_err_name(rc), why);
        fprintf(stderr, "switchboard-broker: cannot start: %s\n", why);
        swb_config_free(&cfg);
        return 1;
    }
    swb_broker_set_reload(b, &swb_hup);
    rc = swb_broker_run(b, &swb_stop);
    swb_broker_destroy(&b);
    swb_log(SWB_LOG_INFO, "broker", "stopped", NULL);
    swb_config_free(&cfg);
    zsys_shutdown();
    return rc ? 1 : 0;
}
