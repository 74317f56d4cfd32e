#!/bin/sh
# Demo handler for voice work: pretends to take or place a call.
# The task arrives as JSON on stdin; stdout becomes the result.
task=$(cat)
sleep 1
echo "call handled on ${SWB_CHANNEL} (task ${SWB_TASK_ID}, attempt ${SWB_ATTEMPT}); notes: customer satisfied"
