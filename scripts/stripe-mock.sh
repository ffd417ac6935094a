#!/usr/bin/env bash
# stripe-mock for tests: Stripe's official mock, which validates requests
# against Stripe's OpenAPI spec and answers fixtures.
#
#   scripts/stripe-mock.sh [install]  install v0.203.0 into .tools/bin if missing (quiet when present)
#   scripts/stripe-mock.sh start      install, start on free 127.0.0.1 ports (or reuse the one
#                                     already started) and print STRIPE_MOCK_URL=http://127.0.0.1:PORT
#   scripts/stripe-mock.sh stop       stop the one `start` started
#
# stdout is only the STRIPE_MOCK_URL line, so `eval "$(scripts/stripe-mock.sh start)"` works.
set -euo pipefail

version=v0.203.0
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$repo/.tools"
bin="$tools/bin/stripe-mock"
pidfile="$tools/stripe-mock.pid"
urlfile="$tools/stripe-mock.url"
logfile="$tools/stripe-mock.log"

install() {
	[ -x "$bin" ] && return 0
	echo "stripe-mock.sh: installing stripe-mock $version into .tools/bin" >&2
	mkdir -p "$tools/bin"
	GOBIN="$tools/bin" go install "github.com/stripe/stripe-mock@$version" >&2
}

# running_pid prints the pid from the pidfile when that process is still
# our stripe-mock (not a recycled pid), and fails otherwise.
running_pid() {
	[ -f "$pidfile" ] || return 1
	local pid
	pid="$(cat "$pidfile")"
	[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$bin" || return 1
	echo "$pid"
}

# answers succeeds when stripe-mock at URL $1 serves an API call.
answers() {
	if command -v curl >/dev/null; then
		curl -fsS -o /dev/null -u sk_test_123: "$1/v1/customers/cus_probe" 2>/dev/null
	else # bash alone: the port accepts connections
		local hostport="${1#http://}"
		(exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}") 2>/dev/null
	fi
}

start() {
	install
	if running_pid >/dev/null && [ -f "$urlfile" ] && answers "$(cat "$urlfile")"; then
		echo "STRIPE_MOCK_URL=$(cat "$urlfile")"
		return 0
	fi
	stop
	# Port 0: stripe-mock binds free ports itself (no race with a port we
	# probed); we read the HTTP one back from its log. HTTPS gets a free
	# port too, or a second instance would fail on the default :12112.
	"$bin" -http-addr 127.0.0.1:0 -https-addr 127.0.0.1:0 >"$logfile" 2>&1 &
	echo $! >"$pidfile"
	# Loading the OpenAPI spec takes seconds on a busy machine.
	for _ in $(seq 1 600); do
		addr="$(sed -n 's/^Listening for HTTP at address: //p' "$logfile" | head -n1)"
		if [ -n "$addr" ] && answers "http://$addr"; then
			echo "http://$addr" >"$urlfile"
			echo "STRIPE_MOCK_URL=http://$addr"
			return 0
		fi
		if ! running_pid >/dev/null; then
			break
		fi
		sleep 0.1
	done
	echo "stripe-mock.sh: stripe-mock did not start; see $logfile" >&2
	stop
	return 1
}

stop() {
	local pid
	if pid="$(running_pid)"; then
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	rm -f "$pidfile" "$urlfile"
}

case "${1:-install}" in
install) install ;;
start) start ;;
stop) stop ;;
*)
	echo "usage: $0 [install|start|stop]" >&2
	exit 2
	;;
esac
