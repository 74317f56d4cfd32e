/*
 * test_dispatch.c - end to end through real processes: a broker, real
 * switchboard-worker --exec processes and the client API, on loopback
 * ports with LMDB in a temp folder.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "swb_client.h"
#include "swb_domain.h"
#include "swbtest.h"

/* Submits n tasks of channel ch pipelined ("job-i"); see swbtest.h. */
static int
submit_many(swb_client_t *c, const char *ch, int n, uint64_t *ids)
{
    swb_task_spec_t s = swbt_spec(ch, NULL);
    return swbt_submit_many(c, &s, "job-", n, ids);
}

static void
test_thousand_tasks_four_workers(void)
{
    char *dir = swbt_tempdir("thousand");
    swbt_broker_t b;
    ASSERT_INT_EQ(swbt_broker_start(&b, dir, NULL), 0);
    pid_t w[4];
    const char *chans[4] = {"email", "email,form", "email", "email,data"};
    for (int i = 0; i < 4; i++) {
        char agent[16];
        snprintf(agent, sizeof agent, "a%d", i);
        const char *extra[] = {"--capacity", "email=4", NULL};
        w[i] = swbt_worker_start(&b, dir, "mnl-1", agent, chans[i],
                                 "printf 'done:%s' \"$(cat)\" | tr -d '\\n'",
                                 extra);
    }
    swb_client_t *c;
    ASSERT_INT_EQ(swb_client_new(b.client_ep, swbt_ms(5000), &c), SWB_OK);
    enum { N = 1000 };
    uint64_t *ids = calloc(N, sizeof *ids);
    ASSERT_INT_EQ(submit_many(c, "email", N, ids), N);
    int completed = 0, wrong = 0, retried = 0;
    for (int i = 0; i < N; i++) {
        swb_task_t t;
        swb_bytes_t r;
        if (swb_client_wait(c, ids[i], swbt_ms(60000), &t, &r) != SWB_OK)
            continue;
        if (strcmp(t.state, "completed") == 0) {
            completed++;
            char want[80];
            snprintf(want, sizeof want, "done:{");
            if (r.len < 6 || memcmp(r.data, want, 6) != 0 ||
                !memmem(r.data, r.len, t.spec->payload.data,
                        t.spec->payload.len))
                wrong++;
        }
        if (t.attempt != 1)
            retried++;
        swb_codec_free(&swb_task_schema, &t);
        free(r.data);
    }
    for (int i = 1; i < N; i++)
        for (int k = i - 1; k >= 0 && k > i - 5; k--)
            if (ids[i] == ids[k])
                wrong++;
    fprintf(stderr, "  completed=%d wrong=%d retried=%d\n", completed, wrong,
            retried);
    ASSERT_INT_EQ(completed, N);
    ASSERT_INT_EQ(wrong, 0);
    ASSERT_INT_EQ(retried, 0);
    swb_client_destroy(&c);
    for (int i = 0; i < 4; i++)
        swbt_kill(w[i], SIGTERM);
    swbt_broker_stop(&b, SIGTERM);
    swbt_broker_free(&b);
    free(ids);
    swbt_rmdir(dir);
    free(dir);
}

int
main(void)
{
    SWB_RUN(test_thousand_tasks_four_workers);
    return SWB_TEST_EXIT();
}
