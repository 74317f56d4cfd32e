#!/usr/bin/env bash
# netns-cluster.sh - a multi-region Switchboard cluster on ONE Linux machine,
# every broker and every worker site in its own network namespace.
#
#   deploy/netns-cluster.sh demo        build if needed, bring up the regions
#                                       manila, krakow and bogota with the
#                                       example configs (deploy/region-*.ini),
#                                       submit work in Manila that overflows
#                                       to the other regions, show where each
#                                       task ran, tear everything down
#   deploy/netns-cluster.sh up          the same cluster, left running until
#                                       Ctrl-C (prints how to reach it)
#   deploy/netns-cluster.sh down [--all] remove what a crashed run left:
#                                       namespaces (and the processes in them)
#                                       of runs whose shell is gone; --all
#                                       also those of live runs
#   deploy/netns-cluster.sh check       can this machine make namespaces?
#
# The network: a hub namespace holds a Linux bridge; every node (a region's
# broker, a worker site) is a namespace with one veth leg ("swb0") on that
# bridge and an address in 10.77.0.0/24 (CLUSTER_NET). The root namespace
# gets no address and no route. Namespaces are named PREFIX-NODE, PREFIX =
# swbn<pid of the shell that brought the cluster up>, so parallel runs and
# leftovers do not clash; their /etc/hosts (/etc/netns/PREFIX-NODE/hosts)
# names every broker as REGION-broker.example.net, like the example configs.
#
# Sourced as a library (tests/cluster/test_cluster.sh does):
#   . deploy/netns-cluster.sh
#   cluster_up                          namespaces, bridge, addresses; sets a
#                                       trap that calls cluster_down on exit
#   cluster_start_broker REGION ARGS... a broker in REGION's namespace; adds
#                                       --region --data --clients --workers
#                                       --peers --http off --insecure unless
#                                       ARGS has them; waits until it serves
#   cluster_peer_args REGION            "--peer R=tcp://IP:7702" for the others
#   cluster_start_worker SITE ARGS...   a worker in SITE's namespace (adds
#                                       --broker of the site's region, --site)
#   cluster_client REGION ARGS...       the switchboard CLI against REGION's
#                                       broker, from REGION's namespace
#   cluster_exec NODE CMD...            any command in NODE's namespace
#   cluster_kill_broker REGION [SIG]    signal (default KILL) and reap it
#   cluster_restart_broker REGION       start it again with the same args
#                                       (and the same data folder)
#   cluster_loss NODE PCT [NODE...]     drop PCT % of packets (each way) in
#                                       NODE's namespace with nftables, only
#                                       to/from the given nodes if any; 0 ends
#   cluster_link_down NODE / cluster_link_up NODE    unplug / replug its leg
#   cluster_thin NODE RATE|off          tbf both ways on its leg (e.g. 64kbit)
#   cluster_ip NODE, cluster_ns NODE, cluster_down
# Topology before cluster_up: CLUSTER_REGIONS (default manila krakow bogota)
# and CLUSTER_SITES (SITE:REGION words, default mnl-1:manila krk-1:krakow
# bog-1:bogota). Binaries from CLUSTER_BIN (default <source>/build), run
# folder CLUSTER_DIR (default a fresh /tmp/swbn.*; logs/ and data/ inside;
# kept when CLUSTER_KEEP=1). Every process is started and stopped by its pid.
#
# Needs root, iproute2 (ip, tc) and for cluster_loss nftables. When network
# namespaces cannot be made it says why and exits (returns) 77.

CLUSTER_SRC=${CLUSTER_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
CLUSTER_TAG=swbn
CLUSTER_NET=${CLUSTER_NET:-10.77.0}
CLUSTER_BIN_GIVEN=${CLUSTER_BIN:+1}
CLUSTER_BIN=${CLUSTER_BIN:-$CLUSTER_SRC/build}
if [[ -z ${CLUSTER_REGIONS+x} ]]; then
    CLUSTER_REGIONS=(manila krakow bogota)
fi
if [[ -z ${CLUSTER_SITES+x} ]]; then
    CLUSTER_SITES=(mnl-1:manila krk-1:krakow bog-1:bogota)
fi
CLUSTER_PREFIX=${CLUSTER_PREFIX:-}
CLUSTER_DIR=${CLUSTER_DIR:-}
declare -gA _CL_IP=() _CL_SITE_REGION=() _CL_BROKER_PID=() _CL_BROKER_CMD=()
declare -ga _CL_NODES=() _CL_PIDS=()
CLUSTER_LAST_PID=

_cl_say() { printf 'netns-cluster: %s\n' "$*" >&2; }

cluster_ns() { printf '%s-%s' "$CLUSTER_PREFIX" "$1"; }
cluster_ip() {
    local ip=${_CL_IP[$1]:-}
    [[ -n $ip ]] || { _cl_say "no node named '$1'"; return 1; }
    printf '%s' "$ip"
}
cluster_exec() {
    local node=$1
    shift
    ip netns exec "$(cluster_ns "$node")" "$@"
}

# Can this machine make network namespaces, veth pairs and bridges?
# 0 yes; 77 no (with the reason on stderr).
cluster_check() {
    if [[ $(id -u) -ne 0 ]]; then
        _cl_say "needs root to make network namespaces (run it with sudo)"
        return 77
    fi
    if ! command -v ip >/dev/null || ! command -v tc >/dev/null; then
        _cl_say "needs iproute2 (ip, tc): apt-get install -y iproute2"
        return 77
    fi
    local p="${CLUSTER_TAG}probe$$" why
    if ! why=$(ip netns add "$p" 2>&1); then
        _cl_say "cannot make a network namespace: $why"
        return 77
    fi
    if ! why=$(ip -n "$p" link add swbprobe0 type veth peer name swbprobe1 2>&1 &&
        ip -n "$p" link add swbprobebr type bridge 2>&1); then
        ip netns del "$p" 2>/dev/null
        _cl_say "cannot make veth pairs or a bridge in a namespace: $why"
        return 77
    fi
    ip netns del "$p"
    command -v nft >/dev/null ||
        _cl_say "note: no nft (apt-get install -y nftables): cluster_loss will fail"
    return 0
}

_cl_add_node() { # NAME IP
    local name=$1 addr=$2 ns hub hleg
    ns=$(cluster_ns "$name")
    hub=$(cluster_ns hub)
    hleg="h-${name:0:13}"
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up &&
        ip link add swb0 netns "$ns" type veth peer name "$hleg" netns "$hub" &&
        ip -n "$hub" link set "$hleg" master br0 up &&
        ip -n "$ns" addr add "$addr/24" dev swb0 &&
        ip -n "$ns" link set swb0 up || return 1
    _CL_IP[$name]=$addr
    _CL_NODES+=("$name")
}

# Builds the hub, the bridge and a namespace per region and per site.
cluster_up() {
    cluster_check || return
    if [[ -z $CLUSTER_PREFIX ]]; then
        CLUSTER_PREFIX="${CLUSTER_TAG}${BASHPID}"
    fi
    if ip netns list | grep -q "^$CLUSTER_PREFIX-"; then
        _cl_say "namespaces $CLUSTER_PREFIX-* exist already (a leftover?" \
            "run: $0 down)"
        return 1
    fi
    if [[ -z $CLUSTER_DIR ]]; then
        CLUSTER_DIR=$(mktemp -d /tmp/swbn.XXXXXX) || return 1
    fi
    mkdir -p "$CLUSTER_DIR/logs" "$CLUSTER_DIR/data" || return 1
    if [[ ${CLUSTER_NO_TRAP:-0} != 1 ]]; then
        trap cluster_down EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
    fi
    local hub i=0 s r
    hub=$(cluster_ns hub)
    ip netns add "$hub" &&
        ip -n "$hub" link set lo up &&
        ip -n "$hub" link add br0 type bridge &&
        ip -n "$hub" link set br0 up || { cluster_down; return 1; }
    for r in "${CLUSTER_REGIONS[@]}"; do
        _cl_add_node "$r" "$CLUSTER_NET.$((11 + i))" || { cluster_down; return 1; }
        i=$((i + 1))
    done
    i=0
    for s in "${CLUSTER_SITES[@]}"; do
        _CL_SITE_REGION[${s%%:*}]=${s#*:}
        _cl_add_node "${s%%:*}" "$CLUSTER_NET.$((21 + i))" || { cluster_down; return 1; }
        i=$((i + 1))
    done
    # names for every node, as the example configs spell the brokers
    local hosts="127.0.0.1 localhost"$'\n' n
    for r in "${CLUSTER_REGIONS[@]}"; do
        hosts+="${_CL_IP[$r]} $r-broker.example.net $r-broker $r"$'\n'
    done
    for s in "${CLUSTER_SITES[@]}"; do
        hosts+="${_CL_IP[${s%%:*}]} ${s%%:*}"$'\n'
    done
    for n in hub "${_CL_NODES[@]}"; do
        mkdir -p "/etc/netns/$(cluster_ns "$n")" &&
            printf '%s' "$hosts" >"/etc/netns/$(cluster_ns "$n")/hosts"
    done
    # where a crashed run's folder is, for `down` (not under /etc/netns:
    # ip netns exec binds every file there over /etc)
    mkdir -p /run/swbn && printf '%s\n' "$CLUSTER_DIR" >"/run/swbn/$CLUSTER_PREFIX.dir"
    _cl_say "up: prefix $CLUSTER_PREFIX, regions ${CLUSTER_REGIONS[*]}," \
        "sites ${CLUSTER_SITES[*]}, run folder $CLUSTER_DIR"
}

_cl_track() { _CL_PIDS+=("$1"); }

# Sends SIG to PID, waits up to 5 s, then KILL; reaps it.
_cl_stop_pid() { # PID [SIG]
    local pid=$1 sig=${2:-TERM} k
    kill -"$sig" "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    for ((k = 0; k < 50; k++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

# Stops every process this run started (by pid), then every process still in
# its namespaces (by pid), deletes the namespaces and their /etc/netns files.
cluster_down() {
    local pid ns i
    trap - EXIT
    for ((i = ${#_CL_PIDS[@]} - 1; i >= 0; i--)); do
        kill -TERM "${_CL_PIDS[i]}" 2>/dev/null
    done
    for pid in "${_CL_PIDS[@]}"; do
        _cl_stop_pid "$pid" 0
    done
    _CL_PIDS=()
    [[ -n $CLUSTER_PREFIX ]] && _cl_remove_prefix "$CLUSTER_PREFIX"
    if [[ -n $CLUSTER_DIR && -d $CLUSTER_DIR ]]; then
        if [[ ${CLUSTER_KEEP:-0} == 1 ]]; then
            _cl_say "down; logs and data kept in $CLUSTER_DIR"
        else
            rm -rf "$CLUSTER_DIR"
        fi
    fi
}

# Every namespace PREFIX-*: its processes (TERM, then KILL), the namespace,
# its /etc/netns folder.
_cl_remove_prefix() {
    local prefix=$1 ns pid pids k
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$prefix-"); do
        pids=$(ip netns pids "$ns" 2>/dev/null)
        if [[ -n $pids ]]; then
            for pid in $pids; do kill -TERM "$pid" 2>/dev/null; done
            for ((k = 0; k < 30; k++)); do
                pids=$(ip netns pids "$ns" 2>/dev/null)
                [[ -z $pids ]] && break
                sleep 0.1
            done
            for pid in $pids; do kill -KILL "$pid" 2>/dev/null; done
        fi
        ip netns del "$ns" 2>/dev/null
        rm -rf "/etc/netns/$ns"
    done
    rm -rf "/etc/netns/$prefix-"* "/run/swbn/$prefix.dir"
    rmdir /etc/netns /run/swbn 2>/dev/null
}

# deploy/netns-cluster.sh down [--all]: leftovers of runs whose shell died.
cluster_cleanup_leftovers() {
    local all=${1:-} prefix owner n=0
    for prefix in $( (ip netns list 2>/dev/null | awk '{print $1}'
        ls /etc/netns /run/swbn 2>/dev/null) | grep -oE "^${CLUSTER_TAG}[0-9]+[-.]" |
        sort -u | sed "s/[-.]\$//" | sort -u); do
        owner=${prefix#"$CLUSTER_TAG"}
        if [[ $all != --all && -n $owner ]] && kill -0 "$owner" 2>/dev/null; then
            _cl_say "leaving $prefix-*: its shell (pid $owner) still runs" \
                "(down --all removes it too)"
            continue
        fi
        _cl_say "removing $prefix-*"
        local dir
        dir=$(cat "/run/swbn/$prefix.dir" 2>/dev/null)
        _cl_remove_prefix "$prefix"
        if [[ $dir == /tmp/swbn.* && -d $dir ]]; then
            _cl_say "removing its run folder $dir"
            rm -rf "$dir"
        fi
        n=$((n + 1))
    done
    _cl_say "$n leftover cluster(s) removed"
}

_cl_has_flag() { # FLAG ARGS...: does ARGS hold FLAG (as --f V or --f=V)?
    local f=$1 a
    shift
    for a in "$@"; do
        [[ $a == "$f" || $a == "$f="* ]] && return 0
    done
    return 1
}

# "--peer R=tcp://IP:7702" for every other region.
cluster_peer_args() {
    local r
    for r in "${CLUSTER_REGIONS[@]}"; do
        [[ $r == "$1" ]] && continue
        printf -- '--peer %s=tcp://%s:7702 ' "$r" "${_CL_IP[$r]}"
    done
}

_cl_launch_broker() { # REGION: runs _CL_BROKER_CMD[REGION], waits until it serves
    local region=$1 log before k pid
    log=$CLUSTER_DIR/logs/broker-$region.log
    before=$(grep -c 'event=started' "$log" 2>/dev/null)
    before=${before:-0}
    eval "local -a cmd=(${_CL_BROKER_CMD[$region]})"
    printf '=== %s start: %s\n' "$(date -u +%FT%TZ)" "${cmd[*]}" >>"$log"
    ip netns exec "$(cluster_ns "$region")" "${cmd[@]}" >>"$log" 2>&1 &
    pid=$!
    _cl_track "$pid"
    _CL_BROKER_PID[$region]=$pid
    CLUSTER_LAST_PID=$pid
    for ((k = 0; k < 300; k++)); do
        if (($(grep -c 'event=started' "$log") > before)); then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            _cl_say "broker $region exited at start; its log ($log):"
            tail -n 20 "$log" >&2
            wait "$pid" 2>/dev/null
            return 1
        fi
        sleep 0.1
    done
    _cl_say "broker $region did not start within 30 s; see $log"
    return 1
}

cluster_start_broker() { # REGION ARGS...
    local region=$1 ip
    shift
    ip=$(cluster_ip "$region") || return 1
    local -a cmd=("$CLUSTER_BIN/broker/switchboard-broker")
    _cl_has_flag --region "$@" || cmd+=(--region "$region")
    _cl_has_flag --data "$@" || cmd+=(--data "$CLUSTER_DIR/data/$region")
    _cl_has_flag --clients "$@" || cmd+=(--clients "tcp://$ip:7700")
    _cl_has_flag --workers "$@" || cmd+=(--workers "tcp://$ip:7701")
    _cl_has_flag --peers "$@" || cmd+=(--peers "tcp://$ip:7702")
    _cl_has_flag --http "$@" || cmd+=(--http off)
    _cl_has_flag --insecure "$@" || cmd+=(--insecure)
    cmd+=("$@")
    _CL_BROKER_CMD[$region]=$(printf '%q ' "${cmd[@]}")
    _cl_launch_broker "$region"
}

cluster_broker_pid() { printf '%s' "${_CL_BROKER_PID[$1]:-}"; }

# Signals REGION's broker (default KILL: a crash) and reaps it.
cluster_kill_broker() { # REGION [SIG]
    local pid=${_CL_BROKER_PID[$1]:-}
    [[ -n $pid ]] || { _cl_say "no broker running in $1"; return 1; }
    if [[ ${2:-KILL} == KILL ]]; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    else
        _cl_stop_pid "$pid" "${2:-TERM}"
    fi
    _CL_BROKER_PID[$1]=
    return 0
}

# Starts REGION's broker again with the very same command (same data folder).
cluster_restart_broker() {
    [[ -n ${_CL_BROKER_CMD[$1]:-} ]] || { _cl_say "broker $1 never started"; return 1; }
    _cl_launch_broker "$1"
}

cluster_start_worker() { # SITE ARGS...
    local site=$1 region ip agent=w log a prev=
    shift
    region=${_CL_SITE_REGION[$site]:-}
    [[ -n $region ]] || { _cl_say "no site named '$site'"; return 1; }
    ip=$(cluster_ip "$region") || return 1
    for a in "$@"; do
        [[ $prev == --agent ]] && agent=$a
        prev=$a
    done
    local -a cmd=("$CLUSTER_BIN/worker/switchboard-worker")
    _cl_has_flag --broker "$@" || cmd+=(--broker "tcp://$ip:7701")
    _cl_has_flag --site "$@" || cmd+=(--site "$site")
    cmd+=("$@")
    log=$CLUSTER_DIR/logs/worker-$site-$agent.log
    printf '=== %s start: %s\n' "$(date -u +%FT%TZ)" "${cmd[*]}" >>"$log"
    ip netns exec "$(cluster_ns "$site")" "${cmd[@]}" >>"$log" 2>&1 &
    CLUSTER_LAST_PID=$!
    _cl_track "$CLUSTER_LAST_PID"
}

# Stops one process this run started (TERM, then KILL after 5 s).
cluster_stop() { _cl_stop_pid "$1" "${2:-TERM}"; }

# The CLI against REGION's broker, run in REGION's namespace.
cluster_client() { # REGION ARGS...
    local region=$1 ip
    shift
    ip=$(cluster_ip "$region") || return 1
    ip netns exec "$(cluster_ns "$region")" \
        "$CLUSTER_BIN/client/switchboard" --broker "tcp://$ip:7700" "$@"
}

# Waits until REGION's broker lists at least N agents (default 1).
cluster_wait_agents() { # REGION [N] [SECONDS]
    local n=${2:-1} t=${3:-20} k got
    for ((k = 0; k < t * 10; k++)); do
        got=$(cluster_client "$1" agents --json 2>/dev/null |
            grep -c '"agent"' || true)
        ((got >= n)) && return 0
        sleep 0.1
    done
    _cl_say "region $1: fewer than $n agents after $t s"
    return 1
}

# Drops PCT % of the packets in NODE's namespace, in and out (each way),
# with nftables; only those to/from the given nodes when any are named.
# Loopback is spared (a region's own clients). PCT 0 ends the loss.
cluster_loss() { # NODE PCT [NODE...]
    local node=$1 pct=$2 ns addrs='' n
    shift 2
    ns=$(cluster_ns "$node")
    command -v nft >/dev/null || { _cl_say "cluster_loss needs nft (nftables)"; return 1; }
    ip netns exec "$ns" nft delete table inet swb_loss 2>/dev/null
    ((pct > 0)) || return 0
    for n in "$@"; do
        addrs+="${addrs:+, }$(cluster_ip "$n")" || return 1
    done
    local in_m='' out_m=''
    if [[ -n $addrs ]]; then
        in_m="ip saddr { $addrs }"
        out_m="ip daddr { $addrs }"
    fi
    ip netns exec "$ns" nft -f - <<EOF
table inet swb_loss {
    chain in {
        type filter hook input priority 0; policy accept;
        iif "lo" accept
        $in_m numgen random mod 100 < $pct counter drop
    }
    chain out {
        type filter hook output priority 0; policy accept;
        oif "lo" accept
        $out_m numgen random mod 100 < $pct counter drop
    }
}
EOF
}

# Packets dropped so far by cluster_loss in NODE's namespace.
cluster_loss_dropped() {
    cluster_exec "$1" nft list table inet swb_loss 2>/dev/null |
        grep -o 'packets [0-9]*' | awk '{s += $2} END {print s + 0}'
}

# Unplugs (down) or replugs (up) NODE's leg: a partition of that node.
cluster_link_down() { ip -n "$(cluster_ns "$1")" link set swb0 down; }
cluster_link_up() { ip -n "$(cluster_ns "$1")" link set swb0 up; }

# A thin link: a token bucket of RATE (tc units: 64kbit, 1mbit) on NODE's
# leg in both directions (its own egress and the hub's egress toward it).
cluster_thin() { # NODE RATE|off
    local ns hub hleg="h-${1:0:13}"
    ns=$(cluster_ns "$1")
    hub=$(cluster_ns hub)
    if [[ $2 == off ]]; then
        ip netns exec "$ns" tc qdisc del dev swb0 root 2>/dev/null
        ip netns exec "$hub" tc qdisc del dev "$hleg" root 2>/dev/null
        return 0
    fi
    ip netns exec "$ns" tc qdisc replace dev swb0 root tbf rate "$2" \
        burst 4kb latency 500ms &&
        ip netns exec "$hub" tc qdisc replace dev "$hleg" root tbf rate "$2" \
            burst 4kb latency 500ms
}

# ---------------------------------------------------------------------------
# The demo (run directly)

_cl_build() {
    if [[ -n ${CLUSTER_BIN_GIVEN:-} ]]; then
        return 0
    fi
    CLUSTER_BIN=$CLUSTER_SRC/build-demo
    "$CLUSTER_SRC/deploy/install-deps.sh" --cluster || return 1
    if [[ ! -f $CLUSTER_BIN/CMakeCache.txt ]]; then
        cmake -S "$CLUSTER_SRC" -B "$CLUSTER_BIN" \
            -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || return 1
    fi
    cmake --build "$CLUSTER_BIN" -j"$(nproc)" >/dev/null
}

# Brings up the three regions from deploy/region-*.ini and one agent per
# site: Manila speaks English, Krakow Polish and English, Bogota Spanish and
# English. Each agent's handler says where it ran.
_cl_demo_cluster() {
    cluster_up || return
    local r
    for r in "${CLUSTER_REGIONS[@]}"; do
        cluster_start_broker "$r" --config "$CLUSTER_SRC/deploy/region-$r.ini" \
            || return 1
    done
    local h=$CLUSTER_SRC/deploy/demo/where.sh out=$CLUSTER_DIR/ran
    mkdir -p "$out"
    cluster_start_worker mnl-1 --agent maria --channels email,chat \
        --writes en:C1,tl:C2 --exec "$h manila mnl-1 maria $out"
    cluster_start_worker krk-1 --agent jan --channels email,chat \
        --writes pl:C2,en:C1 --capacity email=2 --exec "$h krakow krk-1 jan $out"
    cluster_start_worker bog-1 --agent lucia --channels email,chat \
        --writes es:C2,en:B2 --capacity email=2 --exec "$h bogota bog-1 lucia $out"
    cluster_wait_agents manila 1 && cluster_wait_agents krakow 1 &&
        cluster_wait_agents bogota 1
}

cluster_demo() {
    _cl_build || return 1
    _cl_demo_cluster || return
    echo "== regions up; agents: maria (mnl-1, English), jan (krk-1, Polish" \
        "and English), lucia (bog-1, Spanish and English)"
    echo "== sites open now:"
    for r in "${CLUSTER_REGIONS[@]}"; do
        cluster_client "$r" sites --json 2>/dev/null |
            jq -r --arg r "$r" '.sites[]? | "   \($r) \(.site): \(if .open then "open" else "closed" end), local time \(.local_time // "?")"' || true
    done
    echo "== submitting to Manila"
    local -a ids=() what=()
    sub() { # WHAT ARGS...
        local w=$1 id
        shift
        if id=$(cluster_client manila submit --channel email "$@"); then
            ids+=("$id")
            what+=("$w")
        fi
    }
    local i
    for i in 1 2; do
        sub "English e-mail $i" --sponsor shop --lang en:B2 --payload "order $i sleep=1"
    done
    for i in 1 2; do
        sub "Polish e-mail $i (no Polish in Manila)" --sponsor shop \
            --lang pl:B2 --payload "zamowienie $i sleep=1"
    done
    for i in 1 2; do
        sub "Spanish e-mail $i (no Spanish in Manila)" --sponsor telco \
            --lang es:B2 --payload "pedido $i sleep=1"
    done
    for i in 1 2 3 4 5 6; do
        sub "burst e-mail $i (telco, service level 80/5)" --sponsor telco \
            --lang en:B2 --payload "burst $i sleep=6"
    done
    echo "   ${#ids[@]} tasks submitted; waiting for them (up to 90 s in all)"
    echo "== where each task ran"
    printf '   %-4s %-42s %-10s %s\n' id task state "ran at"
    local j st res left end=$((SECONDS + 90)) where=()
    for j in "${!ids[@]}"; do
        left=$((end - SECONDS))
        ((left > 0)) || left=1
        st=$(cluster_client manila wait "${ids[j]}" --timeout "$left" --json 2>/dev/null)
        res=$(printf '%s' "$st" | jq -r '.result // empty' 2>/dev/null)
        where+=("$(printf '%s' "$res" | sed -n 's/^region \([a-z]*\),.*/\1/p' | grep . || echo none)")
        printf '   %-4s %-42s %-10s %s\n' "${ids[j]}" "${what[j]}" \
            "$(printf '%s' "$st" | jq -r '.state // "?"' 2>/dev/null)" \
            "${res:-(no result)}"
    done
    echo "== tasks per region that ran them:" \
        "$(printf '%s\n' "${where[@]}" | sort | uniq -c | awk '{printf "%s %s  ", $2, $1}')"
    echo "== Manila's task list"
    cluster_client manila list --limit 20 || true
}

_cl_main() {
    local action=${1:-}
    case $action in
    demo)
        cluster_check || exit
        cluster_demo
        ;;
    up)
        cluster_check || exit
        _cl_build || exit 1
        _cl_demo_cluster || exit 1
        echo "== cluster up (Ctrl-C stops it and removes everything)"
        local r
        for r in "${CLUSTER_REGIONS[@]}"; do
            echo "   $r: ip netns exec $(cluster_ns "$r") $CLUSTER_BIN/client/switchboard --broker tcp://$(cluster_ip "$r"):7700 stats"
        done
        echo "   logs: $CLUSTER_DIR/logs"
        while :; do sleep 3600; done
        ;;
    down)
        [[ $(id -u) -eq 0 ]] || { _cl_say "needs root"; exit 77; }
        cluster_cleanup_leftovers "${2:-}"
        ;;
    check)
        cluster_check && _cl_say "ok: namespaces, veth pairs and bridges work"
        ;;
    *)
        sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        [[ $action == -h || $action == --help ]] && exit 0
        exit 2
        ;;
    esac
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -uo pipefail
    _cl_main "$@"
    exit $?
fi
