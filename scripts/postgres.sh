#!/usr/bin/env bash
# Finds or starts a Postgres server and prints an admin connection URL
# (superuser, database "postgres") on stdout. Progress goes to stderr.
#
# Order: $PG_ADMIN_URL if set; a server already on 127.0.0.1:5432 (trust
# auth, user postgres); the local Postgres binaries started into .pgdata/
# under the repo on port 54329 (as user "postgres" when run as root); finally
# `docker compose up -d postgres`. Usage: scripts/postgres.sh [stop]
#
#   scripts/postgres.sh private DIR PORT [NAME=VALUE...]
#     initialises a fresh cluster in DIR (missing or empty) from the local
#     binaries and starts it on 127.0.0.1:PORT with those settings (the
#     load harness's -shared-buffers); prints its admin URL.
#   scripts/postgres.sh stop [DIR]   stops DIR's cluster (default .pgdata/).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="$repo/.pgdata"
port=54329
say() { echo "postgres.sh: $*" >&2; }

find_bin() { # find_bin NAME: a Postgres server binary on PATH or in Debian's folders
	if command -v "$1" >/dev/null 2>&1; then command -v "$1"; return; fi
	ls -1d /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -n 1
}

as_pg_user() { # run a command as a non-root user when we are root (initdb refuses root)
	if [ "$(id -u)" = 0 ]; then
		id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
		chown -R postgres "$data"
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

can_connect() { # can_connect URL
	if command -v psql >/dev/null 2>&1; then
		psql "$1" -Atqc 'select 1' >/dev/null 2>&1
	else
		(exec 3<>/dev/tcp/127.0.0.1/"$2") 2>/dev/null
	fi
}

init_cluster() { # init_cluster DIR: a new cluster of trusted local users, owned as as_pg_user runs
	as_pg_user "$initdb" -D "$1" -U postgres --auth=trust -E UTF8 >/dev/null
}

start_cluster() { # start_cluster DIR PORT [-c NAME=VALUE...]: on 127.0.0.1, its socket and log in DIR
	local dir="$1" port="$2"; shift 2
	as_pg_user "$pg_ctl" -D "$dir" -l "$dir/server.log" -w \
		-o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 $*" start >&2
}

if [ "${1:-}" = stop ]; then
	data="${2:-$data}"
	if [ -f "$data/postmaster.pid" ]; then as_pg_user "$(find_bin pg_ctl)" -D "$data" -m fast stop >&2; fi
	exit 0
fi

if [ "${1:-}" = private ]; then
	[ $# -ge 3 ] || { say "usage: scripts/postgres.sh private DIR PORT [NAME=VALUE...]"; exit 2; }
	data="$2"; port="$3"; shift 3
	case "$port" in ''|*[!0-9]*) say "port must be a number, got '$port'"; exit 2 ;; esac
	settings=()
	for kv in "$@"; do
		case "$kv" in
		*[[:space:]\'\"\\]*) say "setting must not hold spaces or quotes, got '$kv'"; exit 2 ;;
		[a-z]*=*) settings+=(-c "$kv") ;;
		*) say "setting must be name=value, got '$kv'"; exit 2 ;;
		esac
	done
	initdb="$(find_bin initdb)"; pg_ctl="$(find_bin pg_ctl)"
	if [ -z "$initdb" ] || [ -z "$pg_ctl" ]; then say "no local Postgres binaries (initdb, pg_ctl) for a private cluster"; exit 1; fi
	mkdir -p "$data"
	if [ -n "$(ls -A "$data")" ]; then say "$data is not empty"; exit 1; fi
	init_cluster "$data"
	say "starting a private Postgres from $data on 127.0.0.1:$port ${settings[*]}"
	start_cluster "$data" "$port" "${settings[@]}"
	echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"; exit 0
fi

if [ -n "${PG_ADMIN_URL:-}" ]; then echo "$PG_ADMIN_URL"; exit 0; fi

url="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
if can_connect "$url" 5432; then say "using the server on 127.0.0.1:5432"; echo "$url"; exit 0; fi

url="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
if can_connect "$url" "$port"; then say "using the project server on port $port"; echo "$url"; exit 0; fi

initdb="$(find_bin initdb)"; pg_ctl="$(find_bin pg_ctl)"
if [ -z "$initdb" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && ! command -v docker >/dev/null 2>&1; then
	say "no Postgres found; installing Debian's postgresql package"
	(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2
	initdb="$(find_bin initdb)"; pg_ctl="$(find_bin pg_ctl)"
fi
if [ -n "$initdb" ] && [ -n "$pg_ctl" ]; then
	mkdir -p "$data"
	if [ ! -f "$data/PG_VERSION" ]; then
		say "initialising $data"
		init_cluster "$data"
	fi
	say "starting Postgres from $data on 127.0.0.1:$port"
	start_cluster "$data" "$port" -c fsync=on
	echo "$url"; exit 0
fi

if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
	say "starting Postgres with docker compose"
	(cd "$repo" && docker compose up -d --wait postgres) >&2
	echo "postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable"; exit 0
fi
say "no Postgres available: install PostgreSQL or Docker, or set PG_ADMIN_URL"
exit 1
