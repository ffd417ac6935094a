#!/usr/bin/env bash
# Profiles the machine during each 10,000-workspace ingestion pass of a
# bench run: perf record (all CPUs, call graphs) from 3 s to 13 s into the
# pass, so that a growth run (-prefill) gives one profile of the empty
# table (pass1.data) and one of the grown one (pass2.data).
#
#   bench/profile.sh OUTDIR [bench flags...]
#   bench/profile.sh /tmp/prof -scenarios ingest1,ingest10k -prefill 1920000 -prefill-span 336h
#   perf report -i /tmp/prof/pass2.data --no-children --sort comm,sym
#
# Needs perf (Debian's linux-perf) and the right to sample every CPU
# (root, or kernel.perf_event_paranoid <= 0).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: bench/profile.sh OUTDIR [bench flags...]" >&2; exit 2; }
command -v perf >/dev/null || { echo "bench/profile.sh: perf not found (apt-get install linux-perf)" >&2; exit 1; }
out="$1"; shift
mkdir -p "$out"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
n=0
go run ./bench "$@" -out "$out/results" 2>&1 | while IFS= read -r line; do
	printf '%s\n' "$line" | tee -a "$out/bench.log"
	case "$line" in
	*"ingest10k: usage ingestion"*)
		n=$((n + 1))
		(sleep 3; perf record -e cpu-clock -F 499 -a -g -o "$out/pass$n.data" -- sleep 10 >/dev/null 2>&1) &
		;;
	esac
done
wait
