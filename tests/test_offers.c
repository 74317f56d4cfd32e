/*
 * test_offers.c - offers that ring, with a real broker and agents driven
 * through the worker library in this process: ring timeout moves the
 * call to the next agent, a reject does too, missed offers in a row set
 * the agent not-ready, wrap-up after a call, and a broker kill -9 while a
 * call rings or an agent is not-ready.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "swb_client.h"
#include "swb_domain.h"
#include "swb_worker.h"
#include "swbtest.h"

static swb_worker_t *
agent(const swbt_broker_t *b, const char *name, const char *channels)
{
    swb_m_hello_t h;
    char why[100];
    swb_worker_t *w = NULL;
    memset(&h, 0, sizeof h);
    h.site = "s1";
    h.agent = (char *)name;
    swb_parse_strs(channels, &h.channels, why, sizeof why);
    swb_worker_new(b->worker_ep, &h, &w);
    swb_codec_free_strs(&h.channels);
    return w;
}

/* Runs the agents' sessions for ms; returns the first offer (event kept
 * in *ev, *who = index of the agent) or false. */
static bool
next_offer(swb_worker_t **ws, int n, int ms, swb_wevent_t *ev, int *who)
{
    int64_t end = swbt_now_ms() + swbt_ms(ms);
    while (swbt_now_ms() < end)
        for (int i = 0; i < n; i++) {
            if (swb_worker_next(ws[i], 20, ev) != SWB_OK)
                continue;
            if (ev->type == SWB_WEV_OFFER) {
                *who = i;
                return true;
            }
        }
    return false;
}

/* Runs a session until its agent state is `want`; true when it is. */
static bool
state_becomes(swb_worker_t *w, const char *want, int ms)
{
    int64_t end = swbt_now_ms() + swbt_ms(ms);
    swb_wevent_t ev;
    while (swbt_now_ms() < end) {
        if (swb_worker_next(w, 20, &ev) == SWB_OK &&
            ev.type == SWB_WEV_OFFER)
            swb_worker_task_free(&ev.task);
        if (strcmp(swb_worker_state(w, NULL), want) == 0)
            return true;
    }
    return false;
}

/* The broker's view of an agent's state (AGENTS), "" if unknown. */
static const char *
broker_state(swb_client_t *c, const char *name)
{
    static char st[32];
    swb_m_agents_t out;
    st[0] = 0;
    if (swb_client_agents(c, NULL, &out) != SWB_OK)
        return st;
    const swb_agent_info_t *v = out.agents.v;
    for (size_t i = 0; i < out.agents.n; i++)
        if (strcmp(v[i].agent, name) == 0)
            snprintf(st, sizeof st, "%s", v[i].state);
    swb_codec_free(swb_msg_schema(SWB_MSG_AGENT_LIST), &out);
    return st;
}

static void
test_ring_out_reject_and_missed_offers(void)
{
    char *dir = swbt_tempdir("ring");
    const char *args[] = {"--ring-ms", "600", "--missed-offers", "2",
                          "--heartbeat-ms", "200", NULL};
    swbt_broker_t b;
    ASSERT_INT_EQ(swbt_broker_start(&b, dir, args), 0);
    swb_client_t *c;
    ASSERT_INT_EQ(swb_client_new(b.client_ep, swbt_ms(5000), &c), SWB_OK);
    swb_worker_t *ws[2] = {agent(&b, "ann", "voice.inbound"),
                           agent(&b, "bob", "voice.inbound")};
    swb_task_spec_t s = swbt_spec("voice.inbound", "caller 1");
    uint64_t id;
    ASSERT_INT_EQ(swb_client_submit(c, &s, &id, NULL), SWB_OK);

    /* the first agent lets it ring out: it moves to the other one */
    swb_wevent_t ev;
    int who = -1;
    ASSERT_TRUE(next_offer(ws, 2, 5000, &ev, &who));
    ASSERT_INT_GE(ev.ring, 1);
    int first = who;
    swb_worker_task_free(&ev.task); /* never answered */
    ASSERT_TRUE(next_offer(ws, 2, 5000, &ev, &who));
    ASSERT_INT_EQ(who, 1 - first);
    /* that one rejects it: back to the first agent, nobody else is left */
    ASSERT_INT_EQ(swb_worker_reject(ws[who], &ev.task, "wrong language"),
                  SWB_OK);
    ASSERT_TRUE(next_offer(ws, 2, 5000, &ev, &who));
    ASSERT_INT_EQ(who, first);
    /* kill -9 while it rings: after the restart it still gets answered */
    swbt_broker_stop(&b, SIGKILL);
    ASSERT_INT_EQ(swbt_broker_restart(&b), 0);
    swb_worker_task_free(&ev.task); /* second miss for `first` */
    ASSERT_TRUE(state_becomes(ws[first], "not-ready", 8000));
    ASSERT_STR_EQ(broker_state(c, first ? "bob" : "ann"), "not-ready");
    /* the other agent answers it now */
    ASSERT_TRUE(next_offer(ws, 2, 8000, &ev, &who));
    ASSERT_INT_EQ(who, 1 - first);
    ASSERT_INT_EQ(swb_worker_accept(ws[who], ev.task), SWB_OK);
    ASSERT_INT_EQ(swb_worker_done(ws[who], &ev.task, "talked", 6), SWB_OK);
    swb_task_t t;
    ASSERT_INT_EQ(swb_client_wait(c, id, (uint64_t)swbt_ms(5000), &t, NULL),
                  SWB_OK);
    ASSERT_STR_EQ(t.state, "completed");
    ASSERT_INT_EQ(t.attempt, 1); /* ring-outs and rejects are no attempts */
    swb_codec_free(&swb_task_schema, &t);
    /* not-ready survives while connected; the agent can come back */
    ASSERT_INT_EQ(swb_worker_set_state(ws[first], "ready", NULL), SWB_OK);
    ASSERT_TRUE(state_becomes(ws[first], "ready", 3000));
    for (int i = 0; i < 2; i++)
        swb_worker_destroy(&ws[i], 500);
    swb_client_destroy(&c);
    swbt_broker_stop(&b, SIGTERM);
    swbt_broker_free(&b);
    swbt_rmdir(dir);
    free(dir);
}

static void
test_wrap_up_after_a_call(void)
{
    char *dir = swbt_tempdir("wrapup");
    const char *args[] = {"--wrapup-ms", "1000", "--heartbeat-ms", "200",
                          NULL};
    swbt_broker_t b;
    ASSERT_INT_EQ(swbt_broker_start(&b, dir, args), 0);
    swb_client_t *c;
    ASSERT_INT_EQ(swb_client_new(b.client_ep, swbt_ms(5000), &c), SWB_OK);
    swb_worker_t *ws[1] = {agent(&b, "cat", "voice.inbound,email")};
    swb_task_spec_t s = swbt_spec("voice.inbound", "caller");
    uint64_t call, mail;
    ASSERT_INT_EQ(swb_client_submit(c, &s, &call, NULL), SWB_OK);
    swb_wevent_t ev;
    int who;
    ASSERT_TRUE(next_offer(ws, 1, 5000, &ev, &who));
    swb_worker_accept(ws[0], ev.task);
    swb_worker_done(ws[0], &ev.task, "ok", 2);
    ASSERT_TRUE(state_becomes(ws[0], "wrap-up", 3000));
    int64_t t0 = swbt_now_ms();
    s = swbt_spec("email", "mail");
    ASSERT_INT_EQ(swb_client_submit(c, &s, &mail, NULL), SWB_OK);
    /* no offer during wrap-up; then ready again and the e-mail comes */
    ASSERT_TRUE(next_offer(ws, 1, 5000, &ev, &who));
    ASSERT_INT_GE(swbt_now_ms() - t0, 700);
    ASSERT_STR_EQ(swb_worker_state(ws[0], NULL), "ready");
    ASSERT_INT_EQ(ev.id, mail);
    swb_worker_done(ws[0], &ev.task, "ok", 2);
    swb_worker_destroy(&ws[0], 500);
    swb_client_destroy(&c);
    swbt_broker_stop(&b, SIGTERM);
    swbt_broker_free(&b);
    swbt_rmdir(dir);
    free(dir);
}

int
main(void)
{
    SWB_RUN(test_ring_out_reject_and_missed_offers);
    SWB_RUN(test_wrap_up_after_a_call);
    return SWB_TEST_EXIT();
}
