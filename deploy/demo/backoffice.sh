#!/bin/sh
# Demo handler for non-voice work (e-mail, forms, data, accounting...).
# The task arrives as JSON on stdin; stdout becomes the result.
task=$(cat)
sleep 0.3
echo "${SWB_CHANNEL} work done for task ${SWB_TASK_ID}: $(printf '%s' "$task" | wc -c) bytes of task read"
