/*
 * metrics.h - the statistics document (stats.h, swb_stats_json) as
 * Prometheus text exposition format 0.0.4, for GET /metrics.
 *
 * Naming (https://prometheus.io/docs/practices/naming/): every name
 * starts with `switchboard_`, then the scope the figure belongs to
 * (`region_`, `site_`, `queue_`), so that one family never mixes a total
 * with its parts. Counters end in `_total` and come from the document's
 * "total" window (since the data folder was made; they survive restarts,
 * as Prometheus expects of counters). Durations are in seconds
 * (`_seconds`), fractions are ratios 0..1 (`_ratio`). Labels: `region`
 * on every sample, `site` on site families, `channel` and `sponsor`
 * (empty for none) on queue families, plus `window` ("15m", "today") on
 * the service-level style gauges and `state` / `age` on the agent and
 * backlog gauges. A figure the document shows as null (a service level
 * without calls) has no sample.
 *
 * The names are a contract with dashboards and alerts: add families
 * freely, never rename one or change its unit.
 */
#ifndef SWB_METRICS_H
#define SWB_METRICS_H

#include <jansson.h>
#include <stddef.h>

#include "swb_error.h"

/*
 * Writes the metrics of stats (a document as swb_stats_json makes it;
 * borrowed) into *text (malloc'd, NUL-terminated, owned by the caller;
 * *len bytes without the NUL). Missing keys are skipped, not errors.
 * Errors: SWB_EINVAL (stats is not an object with "region"),
 * SWB_ENOMEM.
 */
swb_err_t swb_metrics_text(const json_t *stats, char **text, size_t *len);

#endif
