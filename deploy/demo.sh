#!/usr/bin/env bash
# Runs a small Switchboard region on this machine and shows work flowing:
#   - installs what is missing (Debian packages) and builds into build-demo/
#   - starts one broker (LMDB data in ./demo-data) with three sites
#   - starts agents: voice agents in Manila, an e-mail/forms agent in
#     Krakow, a back-office bot in Bogota (each a switchboard-worker --exec)
#   - submits a mix of voice and non-voice tasks, waits for each and shows
#     its outcome, then lists the region's tasks
#   - stops everything it started (also on Ctrl-C)
# Ports: 7700 (clients) and 7701 (workers) on 127.0.0.1, unless
# SWB_DEMO_PORT_BASE is set (then BASE and BASE+1).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

deploy/install-deps.sh
cmake -S . -B build-demo -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-demo -j"$(nproc)" >/dev/null
bin=$root/build-demo

base=${SWB_DEMO_PORT_BASE:-7700}
export SWITCHBOARD_BROKER=tcp://127.0.0.1:$base
workers_ep=tcp://127.0.0.1:$((base + 1))
data=$root/demo-data
logs=$data/logs
rm -rf "$data"
mkdir -p "$logs"

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

echo "== starting the broker (region demo, data in demo-data/)"
"$bin/broker/switchboard-broker" --data "$data/lmdb" --region demo \
    --clients "$SWITCHBOARD_BROKER" --workers "$workers_ep" --http off \
    --site mnl-1,country=PH,tz=Asia/Manila \
    --site krk-1,country=PL,tz=Europe/Warsaw \
    --site bog-1,country=CO,tz=America/Bogota \
    2>"$logs/broker.log" &
pids+=($!)
sleep 0.5

h=$root/deploy/demo
start_worker() { # agent site channels handler [more args]
    local agent=$1 site=$2 channels=$3 handler=$4
    shift 4
    "$bin/worker/switchboard-worker" --broker "$workers_ep" --site "$site" \
        --agent "$agent" --channels "$channels" --exec "$h/$handler" "$@" \
        2>"$logs/worker-$agent.log" &
    pids+=($!)
}
echo "== starting agents"
start_worker maria mnl-1 voice.inbound,voice.outbound,email voice.sh \
    --speaks en:C1,tl:C2 --writes en:B2
start_worker jose mnl-1 voice.inbound,voice.outbound voice.sh --speaks en:B2
start_worker anna krk-1 email,form,chat backoffice.sh \
    --writes en:C1,pl:C2 --capacity email=3,form=2
start_worker bot-7 bog-1 data,accounting,database,research,documentation \
    backoffice.sh --writes es:C2,en:B1 --skills db-maintenance:2,banking:3 \
    --capacity data=4,accounting=2
sleep 1

echo "== submitting work"
cli=$bin/client/switchboard
ids=()
submit() { ids+=("$("$cli" submit "$@")"); }
submit --channel voice.inbound --sponsor acme --lang en:B2 --patience 120 \
    --payload "caller +1-555-0100 asks about an invoice"
submit --channel voice.outbound --sponsor globex --lang en:B2 \
    --payload "remind +1-555-0199 of a late payment"
submit --channel email --sponsor acme --priority 5 \
    --payload "Where is my order 4411?"
submit --channel form --sponsor acme --site krk-1 \
    --payload "fill in the change-of-address form for J. Doe"
submit --channel data --sponsor initech --deadline 2h \
    --payload "key in 40 scanned delivery notes"
submit --channel accounting --sponsor initech --country CO \
    --payload "reconcile October ledger"
submit --channel database --sponsor initech --skill db-maintenance:2 \
    --routing best-skilled --payload "rebuild the customer index"
submit --channel email --sponsor globex --key demo-email-1 \
    --payload "Please cancel my subscription"
dup=$("$cli" submit --channel email --sponsor globex --key demo-email-1 \
    --payload "Please cancel my subscription")
echo "   submitted ${#ids[@]} tasks: ${ids[*]}"
echo "   the same idempotency key again gave task $dup (no duplicate work)"

echo "== outcomes"
for id in "${ids[@]}"; do
    "$cli" wait "$id" --timeout 60 || true
done
echo
echo "== the region's tasks"
"$cli" list --limit 20
echo
echo "== the agents"
"$cli" agents
echo
echo "logs are in demo-data/logs; stopping everything"
