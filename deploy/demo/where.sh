#!/bin/sh
# Handler that says where a task ran: where.sh REGION SITE AGENT [OUTDIR]
# (used by deploy/netns-cluster.sh and tests/cluster/test_cluster.sh).
# A "sleep=SECONDS" word in the payload makes it take that long; with
# OUTDIR, the payload's "tok=TOKEN" word, the task id and the attempt are
# appended as one line to OUTDIR/SITE (one line per run: duplicates show).
task=$(cat)
secs=$(printf '%s' "$task" | grep -o 'sleep=[0-9.]*' | head -n 1 | cut -d= -f2)
tok=$(printf '%s' "$task" | grep -o 'tok=[A-Za-z0-9_.-]*' | head -n 1 | cut -d= -f2)
if [ -n "$secs" ]; then sleep "$secs"; fi
if [ -n "$4" ] && [ -n "$tok" ]; then
    echo "$tok $SWB_TASK_ID $SWB_ATTEMPT" >>"$4/$2"
fi
echo "region $1, site $2, agent $3"
