#!/usr/bin/env bash
# make test: the whole suite against a real Postgres it finds or starts, with
# stripe-mock running and pdftotext installed. Extra args go to `go test`.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

TEST_DATABASE_URL="$(scripts/postgres.sh)"
export TEST_DATABASE_URL

if ! command -v pdftotext >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "test.sh: installing poppler-utils (pdftotext)" >&2
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null) >&2 || true
	fi
fi
if ! command -v pdftotext >/dev/null 2>&1; then
	echo "test.sh: pdftotext unavailable; PDF text checks are skipped" >&2
	export PDF_TEXT_OPTIONAL=1
fi

if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "test.sh: installing chromium (the playground browser test)" >&2
	(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) >&2 ||
		echo "test.sh: chromium could not be installed; the browser test will say so and skip" >&2
fi

# e2e/: the npm clients the SPA team uses (graphql-http's audit, the
# graphql-ws client), pinned by e2e/package-lock.json and run by server's
# TestE2E_* tests against a real server.
if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "test.sh: installing nodejs and npm (the e2e client tests)" >&2
	(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null) >&2 || true
fi
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
	(cd e2e && npm ci --no-audit --no-fund --loglevel=error) >&2
else
	echo "test.sh: ***** node/npm unavailable: the e2e client tests (graphql-http audit, graphql-ws) are SKIPPED *****" >&2
	if [ -n "${CI:-}" ]; then
		echo "test.sh: CI requires the e2e tests; failing" >&2
		exit 1
	fi
fi

if [ -x scripts/stripe-mock.sh ]; then
	eval "$(scripts/stripe-mock.sh start)"
	export STRIPE_MOCK_URL
	trap 'scripts/stripe-mock.sh stop >/dev/null 2>&1 || true' EXIT
fi

go test -race -count=1 "$@" ./...
