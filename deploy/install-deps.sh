#!/usr/bin/env bash
# Installs, from Debian's packages, everything Switchboard needs to build,
# run and test. Installs only what is missing; safe to run again.
# Usage: deploy/install-deps.sh [--test | --cluster]
#   --test adds the test tools; --cluster what deploy/netns-cluster.sh uses
#   (iproute2, nftables, jq), which --test includes
set -euo pipefail

pkgs=(build-essential cmake pkg-config libzmq3-dev libczmq-dev
      libmsgpack-dev liblmdb-dev libjansson-dev libinih-dev lmdb-utils
      libmicrohttpd-dev)
if [[ "${1:-}" == "--test" ]]; then
    pkgs+=(clang libclang-rt-14-dev curl chromium iproute2 nftables jq)
elif [[ "${1:-}" == "--cluster" ]]; then
    pkgs+=(iproute2 nftables jq)
fi

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        missing+=("$p")
    fi
done
if ((${#missing[@]} == 0)); then
    exit 0
fi
echo "installing: ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# a fresh machine has no package lists yet; refresh them when an install fails
if ! $sudo apt-get install -y -q "${missing[@]}" >/dev/null; then
    $sudo apt-get update -q >/dev/null
    $sudo apt-get install -y -q "${missing[@]}" >/dev/null
fi
