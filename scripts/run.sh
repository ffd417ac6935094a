#!/usr/bin/env bash
# make run: a database (DATABASE_URL, or a local Postgres it finds or
# starts), migrations, a demo workspace with a little credit, then the server
# with the playground. The sandbox payment provider is used unless
# STRIPE_SECRET_KEY is set.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
mkdir -p bin .run
go build -o bin/credits ./cmd/credits

if [ -z "${DATABASE_URL:-}" ]; then
	admin="$(scripts/postgres.sh)"
	base="${admin%%\?*}"; base="${base%/*}"
	if command -v psql >/dev/null 2>&1; then
		psql "$admin" -Atqc "select 1 from pg_database where datname = 'credits'" | grep -q 1 ||
			psql "$admin" -qc "create database credits" >/dev/null
	fi
	export DATABASE_URL="$base/credits?sslmode=disable"
fi
export ADDR="${ADDR:-:8080}"
export PUBLIC_URL="${PUBLIC_URL:-$(scripts/public-url.sh "$ADDR")}"
# The SPA's dev server (Vite) calls the API from its own origin.
export CORS_ALLOWED_ORIGINS="${CORS_ALLOWED_ORIGINS:-http://localhost:5173}"
bin/credits migrate

# One demo workspace per database, remembered in .run/; a fresh owner token
# each run (tokens are shown once).
ws=""
if [ -f .run/demo-workspace ]; then ws="$(cat .run/demo-workspace)"; fi
if [ -z "$ws" ] || ! bin/credits token create --workspace "$ws" --role owner --json > .run/demo-owner.json 2>/dev/null; then
	bin/credits workspace create --name "Demo workspace" --plan pro --json > .run/demo-owner.json
	ws="$(sed -E 's/.*"workspace_id":"([^"]+)".*/\1/' .run/demo-owner.json)"
	echo "$ws" > .run/demo-workspace
	bin/credits credits grant --workspace "$ws" --amount 25.00 --reason "demo credit" >/dev/null
fi
owner="$(sed -E 's/.*"token":"([^"]+)".*/\1/' .run/demo-owner.json)"
service="$(bin/credits token create --role service --json | sed -E 's/.*"token":"([^"]+)".*/\1/')"

cat <<MSG

  credits is starting on $PUBLIC_URL
  playground:        $PUBLIC_URL/
  schema (SDL):      $PUBLIC_URL/graphql/schema.graphql
  CORS origins:      $CORS_ALLOWED_ORIGINS
  demo workspace:    $ws
  owner token:       $owner
  service token:     $service   (router surface /v1/*)
  playground headers: {"Authorization": "Bearer $owner"}
  alert emails:      $(if [ -n "${SMTP_URL:-}" ]; then echo "sent through SMTP_URL"; else echo "not sent: SMTP_URL is unset, the server logs each one instead"; fi)

MSG
AUTO_MIGRATE=true exec bin/credits serve
