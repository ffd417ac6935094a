#!/usr/bin/env bash
# A noisy neighbour for measuring under contention, as a shared machine's
# other tenants make it: LOOPS busy loops (default 2, one per core here),
# on and off in random periods of 2–15 s each, until stopped.
#
#   bench/neighbour.sh [LOOPS] [SEED] &  ...  kill -- -$!   (run it with setsid)
#
# docs/performance.md ("30 Nov 2026, afternoon") ran the floor and
# authorize under it, one after the other and side by side.
set -u
loops=${1:-2}
RANDOM=${2:-1}
while :; do
	on=$((2 + RANDOM % 14))
	off=$((2 + RANDOM % 14))
	for _ in $(seq "$loops"); do
		timeout "$on" bash -c 'while :; do :; done' &
	done
	wait
	sleep "$off"
done
