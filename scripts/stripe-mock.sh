#!/usr/bin/env bash
# Installs stripe-mock v0.203.0 into .tools/bin (once) and, with `start`,
# runs it on a free local port and prints STRIPE_MOCK_URL=...; `stop` ends it.
# Usage: scripts/stripe-mock.sh [install|start|stop]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$repo/.tools/bin/stripe-mock"
pidfile="$repo/.tools/stripe-mock.pid"

install() {
	if [ ! -x "$bin" ]; then
		echo "stripe-mock.sh: installing stripe-mock v0.203.0" >&2
		mkdir -p "$repo/.tools/bin"
		GOBIN="$repo/.tools/bin" go install github.com/stripe/stripe-mock@v0.203.0 >&2
	fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 12111; }

case "${1:-install}" in
install) install ;;
start)
	install
	"$0" stop >/dev/null 2>&1 || true
	port="$(free_port)"
	"$bin" -http-addr "127.0.0.1:$port" -https-addr 127.0.0.1:0 >"$repo/.tools/stripe-mock.log" 2>&1 &
	echo $! >"$pidfile"
	for _ in $(seq 1 100); do
		if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
			echo "STRIPE_MOCK_URL=http://127.0.0.1:$port"
			exit 0
		fi
		sleep 0.1
	done
	echo "stripe-mock.sh: stripe-mock did not start; see .tools/stripe-mock.log" >&2
	exit 1
	;;
stop)
	if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; fi
	;;
*) echo "usage: $0 [install|start|stop]" >&2; exit 2 ;;
esac
