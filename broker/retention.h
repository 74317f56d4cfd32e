/*
 * retention.h - the background sweep that removes finished tasks (state
 * completed, dead, canceled, abandoned or expired), their results and
 * their idempotency keys once --retention has passed.
 *
 * The rule: a task is removed when it is final and its record's `updated`
 * time (when it became final: a final task never changes again) is at
 * least `retention` ago. The clock starts when the task finished, not
 * when it was submitted. A removed task answers not_found, and its
 * idempotency key may be used again (it then makes a new task).
 *
 * The sweep never blocks dispatch: the broker calls swb_retention_pass
 * once per loop pass, before its commit. A cycle walks the tasks database
 * by id (ids grow with creation time) from a cursor kept here, in bounded
 * steps: one step reads at most 4 x --retention-batch records and 4 MiB of
 * them (one short read transaction) and queues at most --retention-batch
 * removals in the pass's batch, so they go to disk in the pass's one
 * group commit. A
 * cycle ends at the first task CREATED less than `retention` ago (it and
 * every later task cannot have finished long enough ago) or at the end of
 * the database; the next cycle starts retention/10 later (at least 200 ms,
 * at most 60 s). Tasks still in the broker's memory (unfinished, or
 * finished in this very pass) are never touched. If the wall clock steps
 * back, removal is only delayed, never early. Nothing runs while the
 * broker refuses work after a failed commit; a failed commit loses no
 * data: the next cycle finds the same tasks again.
 */
#ifndef SWB_RETENTION_H
#define SWB_RETENTION_H

#include <stdbool.h>
#include <stdint.h>

/* The sweep's state: plain data inside the broker (zero = idle, a cycle
 * starts at the first pass). Nothing to free. */
typedef struct swb_retention {
    uint64_t cursor;     /* next task id to look at; 0 = between cycles */
    uint64_t next_cycle; /* monotonic ms when the next cycle may start   */
    uint64_t removed;    /* tasks removed since the broker started       */
    uint64_t cycle_removed; /* tasks removed in the current cycle        */
} swb_retention_t;

struct swb_broker;

/*
 * One bounded step of the sweep (see above), adding deletes of tasks,
 * results and keys to the broker's batch for this pass's commit. Does
 * nothing when cfg->retention_ms is 0 (off), between cycles, or while the
 * broker refuses work. Errors are logged (the next cycle tries again).
 */
void swb_retention_pass(struct swb_broker *b);

#endif
