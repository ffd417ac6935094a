#!/usr/bin/env bash
# Writes a new migration under migrations/sql that takes the schema of the
# existing migrations to the ent schema, using a scratch database.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
name="${1:?usage: scripts/migration.sh NAME}"
admin="$(scripts/postgres.sh)"
base="${admin%%\?*}"; base="${base%/*}"
scratch="credits_migration_$$"
psql "$admin" -qc "create database $scratch" >/dev/null
trap 'psql "$admin" -qc "drop database if exists $scratch" >/dev/null' EXIT
DEV_DATABASE_URL="$base/$scratch?sslmode=disable" go run -mod=mod ./migrations/diff.go "$name"
ls -1 migrations/sql | tail -n 3
