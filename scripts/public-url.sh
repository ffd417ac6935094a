#!/usr/bin/env bash
# public-url.sh ADDR: the default PUBLIC_URL for ADDR, the rule
# cmd/credits/config.go's defaultPublicURL applies (a test checks they
# agree): :PORT, 0.0.0.0:PORT and [::]:PORT are localhost; HOST:PORT and
# [::1]:PORT keep their host.
set -euo pipefail
addr="${1:?usage: public-url.sh ADDR}"
case "$addr" in
*:*) port="${addr##*:}"; host="${addr%:*}" ;;
*) echo "http://localhost"; exit 0 ;;
esac
if [ -z "$port" ]; then echo "http://localhost"; exit 0; fi
case "$host" in
"" | 0.0.0.0 | "[::]" | "::") host=localhost ;;
esac
echo "http://$host:$port"
