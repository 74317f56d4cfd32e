/*
 * peer.h - the broker's view of the other regions (PRODUCT.md 5).
 *
 * Two kinds of link, both ZeroMQ:
 *  - for each peer named by --peer NAME=EP, a DEALER this broker connects
 *    to the peer's peers endpoint, with its own region as routing id.
 *    Over it this broker is the ORIGIN: it says PEER_HELLO every second,
 *    hands tasks over (FORWARD), answers START with GO and acknowledges
 *    results; the peer answers on the same connection (ADVERT,
 *    FORWARDED, START, RESULT, RECLAIMED).
 *  - one ROUTER bound on --peers (only when peers are named), where the
 *    named peers connect as origins; each is addressed by its region.
 * So all traffic about the tasks one region handed to another runs over
 * the one connection the origin made, and a region takes work only from
 * regions it names itself.
 *
 * peer.c owns the sockets, the hello/advert cycle and marking peers up
 * and down; handoff.c moves tasks between regions durably; overflow.c
 * decides which waiting task goes to which peer. The structs are shared
 * by those three files (through broker_int.h) and owned by the broker.
 */
#ifndef SWB_PEER_H
#define SWB_PEER_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "swb_msg.h"

/* A peer region as an origin sees it (one per --peer). */
typedef struct swb_peer {
    char *name;          /* its region                                  */
    char *ep;            /* its peers endpoint                          */
    zsock_t *link;       /* DEALER connected to ep                      */
    bool up;             /* it advertised within --peer-down-ms         */
    uint64_t heard;      /* monotonic ms of its last message            */
    uint64_t down_since; /* monotonic ms it went down (or the start)    */
    uint64_t next_hello; /* monotonic ms the next PEER_HELLO is due     */
    swb_m_advert_t advert; /* its last advert (owned)                  */
    uint64_t *extra;     /* per advert class: tasks handed to it since  */
    zlistx_t *out;       /* tasks handed to it, not final (borrowed)    */
    zlistx_t *reclaims;  /* swb_idref_t: tasks taken back (id and
                            hand-off seq), to tell it (owned)          */
    /* as an origin of ours (its DEALER at our ROUTER) */
    uint64_t origin_heard; /* monotonic ms of its last message, 0 = never */
    zlistx_t *in;        /* tasks it handed to us for which we asked
                            GO (START) and got no answer yet (borrowed) */
    zlistx_t *reports;   /* swb_report_t: results it has not
                            acknowledged yet (owned)                    */
    uint64_t forwarded, refused, results; /* counters for logs/stats   */
} swb_peer_t;

/* A result a peer owes its origin until the origin acknowledges it. */
typedef struct swb_report {
    uint64_t origin_id; /* the task's id at the origin  */
    uint64_t local_id;  /* its id here                  */
    uint64_t sent;      /* monotonic ms of the last send */
} swb_report_t;

/* The regions part of the broker. */
typedef struct swb_fed {
    swb_peer_t *peers;   /* cfg->peers order                            */
    size_t npeers;
    zsock_t *router;     /* bound on --peers                            */
    uint64_t advert_seq;
    uint64_t next_advert; /* monotonic ms                               */
    uint64_t next_tick;  /* monotonic ms of the next timers pass        */
    uint64_t next_overflow; /* monotonic ms of the next overflow pass    */
    uint64_t last_overflow; /* monotonic ms of the last one              */
    uint64_t quiet_until; /* monotonic ms: no overflow before (workers
                             reconnect after a restart)                */
    uint64_t aht_ms;     /* running average handle time (predictions)  */
    zlistx_t *parked;    /* other regions' tasks an agent could take,
                            waiting for room to ask their GO (borrowed) */
    uint64_t gen;        /* grows with every advert and peer up/down:
                            what the peers offer may have changed      */
} swb_fed_t;

#endif
