#!/usr/bin/env bash
# with-postgres.sh — run a command against a throwaway PostgreSQL cluster.
#
# Usage: scripts/with-postgres.sh CMD [ARGS...]
#
# Creates a fresh, private PostgreSQL cluster in a temporary directory,
# listening on a random free port on 127.0.0.1, exports
#
#   QM_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable
#
# runs CMD, then always stops the cluster and deletes the directory (also on
# failure, Ctrl-C or SIGTERM). Exits with CMD's exit status.
#
# Missing server binaries are installed with apt-get (Debian/Ubuntu). Any
# system cluster the package creates (e.g. on port 5432) is left alone.
#
# Environment (optional):
#   PG_BINDIR   directory holding initdb/pg_ctl/postgres (skips the search)
set -uo pipefail

prog=with-postgres
log() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { log "$*"; exit 1; }

if [[ $# -eq 0 ]]; then
	echo "usage: $0 CMD [ARGS...]" >&2
	exit 2
fi

export DEBIAN_FRONTEND=noninteractive

# ---------------------------------------------------------------------------
# Locate (or install) the PostgreSQL server binaries.
# ---------------------------------------------------------------------------
find_bindir() {
	local d
	if [[ -n "${PG_BINDIR:-}" ]]; then
		if [[ -x "$PG_BINDIR/initdb" && -x "$PG_BINDIR/pg_ctl" && -x "$PG_BINDIR/postgres" ]]; then
			printf '%s\n' "$PG_BINDIR"
			return 0
		fi
		return 1
	fi
	# Highest installed major version first.
	while IFS= read -r d; do
		if [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]]; then
			printf '%s\n' "$d"
			return 0
		fi
	done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k5,5 -V -r)
	if d=$(command -v initdb 2>/dev/null) && [[ -n "$d" ]]; then
		d=$(dirname "$d")
		if [[ -x "$d/pg_ctl" && -x "$d/postgres" ]]; then
			printf '%s\n' "$d"
			return 0
		fi
	fi
	return 1
}

install_postgres() {
	local -a sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		if ! command -v sudo >/dev/null 2>&1; then
			die "PostgreSQL server binaries not found and cannot install them (not root, no sudo); install the 'postgresql' package"
		fi
		if [[ -t 0 ]]; then sudo=(sudo); else sudo=(sudo -n); fi
		sudo+=(env DEBIAN_FRONTEND=noninteractive)
	fi
	command -v apt-get >/dev/null 2>&1 ||
		die "PostgreSQL server binaries not found and apt-get is unavailable; install PostgreSQL (initdb, pg_ctl, postgres)"
	log "PostgreSQL server binaries not found; installing the 'postgresql' package"
	# Output goes to stderr so it never mixes with the command's stdout.
	# A failing postinst (e.g. the packaged cluster cannot start because 5432
	# is taken) is tolerated as long as the binaries ended up on disk.
	{ "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y --no-install-recommends postgresql; } >&2 ||
		log "apt-get reported an error; checking for binaries anyway"
}

if ! bindir=$(find_bindir); then
	install_postgres
	bindir=$(find_bindir) || die "PostgreSQL server binaries still not found after installing 'postgresql'"
fi

pg_version=$("$bindir/postgres" --version 2>/dev/null | sed -nE 's/.*PostgreSQL\)? *([0-9]+).*/\1/p')
pg_version=${pg_version:-?}

# ---------------------------------------------------------------------------
# Choose the OS user that owns and runs the cluster (never root).
# ---------------------------------------------------------------------------
if [[ $(id -u) -eq 0 ]]; then
	if id -u postgres >/dev/null 2>&1; then
		pg_user=postgres
	else
		if ! id -u qmtest >/dev/null 2>&1; then
			useradd --system --no-create-home --shell /usr/sbin/nologin qmtest >/dev/null 2>&1 ||
				id -u qmtest >/dev/null 2>&1 || # lost a race with a concurrent run
				die "cannot create system user 'qmtest' to run PostgreSQL"
		fi
		pg_user=qmtest
	fi
	command -v runuser >/dev/null 2>&1 || die "runuser not found (util-linux); cannot drop root privileges for PostgreSQL"
else
	pg_user=$(id -un)
fi

# ---------------------------------------------------------------------------
# Temporary directory and cleanup.
# ---------------------------------------------------------------------------
tmpdir=""
datadir=""
logfile=""
child=""
cleaned=0

# run_pg CMD ARGS... — run a PostgreSQL tool as $pg_user from inside $tmpdir
# (the caller's cwd may not be accessible to that user).
run_pg() {
	if [[ $(id -u) -eq 0 ]]; then
		(cd "$tmpdir" && exec runuser -u "$pg_user" -- "$@")
	else
		(cd "$tmpdir" && exec "$@")
	fi
}

stop_cluster() {
	[[ -n "$datadir" && -f "$datadir/postmaster.pid" ]] || return 0
	run_pg "$bindir/pg_ctl" stop -D "$datadir" -m immediate -w -t 30 >/dev/null 2>&1 && return 0
	# pg_ctl failed; kill the postmaster directly (its PID is line 1).
	local pid
	pid=$(head -n 1 "$datadir/postmaster.pid" 2>/dev/null)
	if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
		kill -QUIT "$pid" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
	fi
}

cleanup() {
	[[ $cleaned -eq 1 ]] && return 0
	cleaned=1
	trap '' INT TERM # do not let a second Ctrl-C interrupt the cleanup
	if [[ -n "$tmpdir" ]]; then
		stop_cluster
		rm -rf -- "$tmpdir"
		log "stopped"
	fi
}

on_signal() {
	local sig=$1 num=$2
	trap '' INT TERM
	if [[ -n "$child" ]] && kill -0 "$child" 2>/dev/null; then
		kill -"$sig" "$child" 2>/dev/null
		# Give the command a moment to shut down, then force it.
		for _ in $(seq 100); do kill -0 "$child" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$child" 2>/dev/null
		wait "$child" 2>/dev/null
	fi
	exit $((128 + num))
}

trap cleanup EXIT
trap 'on_signal INT 2' INT
trap 'on_signal TERM 15' TERM

base=/tmp
if [[ $(id -u) -ne 0 && -n "${TMPDIR:-}" && -d "${TMPDIR}" && -w "${TMPDIR}" ]]; then
	base=${TMPDIR%/}
fi
tmpdir=$(mktemp -d "$base/qm-pg.XXXXXXXX") || die "mktemp failed"
if [[ $(id -u) -eq 0 ]]; then
	chown "$pg_user:" "$tmpdir" || die "cannot chown $tmpdir to $pg_user"
fi
chmod 700 "$tmpdir"
datadir=$tmpdir/data
logfile=$tmpdir/postgres.log

# ---------------------------------------------------------------------------
# initdb
# ---------------------------------------------------------------------------
initdb_out=""
for locale in C.UTF-8 C; do
	if initdb_out=$(run_pg "$bindir/initdb" -D "$datadir" --auth=trust --username=postgres \
		--encoding=UTF8 --locale="$locale" --no-sync 2>&1); then
		initdb_out=""
		break
	fi
	run_pg rm -rf -- "$datadir" 2>/dev/null
done
if [[ -n "$initdb_out" ]]; then
	printf '%s\n' "$initdb_out" | tail -n 20 >&2
	die "initdb failed"
fi

# ---------------------------------------------------------------------------
# Start on a free port (retrying on bind failures).
# ---------------------------------------------------------------------------
port_in_use() {
	# Something accepts connections there -> in use.
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

random_port() {
	echo $((20000 + (RANDOM * 32768 + RANDOM) % 40001))
}

port=""
started=0
for attempt in $(seq 1 20); do
	port=$(random_port)
	port_in_use "$port" && continue
	run_pg rm -f -- "$logfile" # so the checks below only see this attempt
	opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$tmpdir'"
	opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	opts+=" -c max_connections=400 -c shared_buffers=128MB"
	if run_pg "$bindir/pg_ctl" start -D "$datadir" -l "$logfile" -w -t 60 -o "$opts" >/dev/null 2>&1; then
		started=1
		break
	fi
	stop_cluster # in case it is half up
	if grep -qE 'could not bind|Address already in use|could not create any TCP/IP sockets' "$logfile" 2>/dev/null; then
		log "port $port unavailable, retrying on another port"
		continue
	fi
	break
done

if [[ $started -ne 1 ]]; then
	log "could not start PostgreSQL; last lines of $logfile:"
	tail -n 20 "$logfile" >&2 2>/dev/null
	exit 1
fi

export QM_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
log "PostgreSQL $pg_version on 127.0.0.1:$port (data in $tmpdir)"

# ---------------------------------------------------------------------------
# Run the command. It runs in the background so that a SIGTERM/SIGINT sent to
# this script is handled immediately (bash defers traps while a foreground
# child runs). The subshell restores default SIGINT/SIGQUIT handling (bash
# ignores them for background jobs) and keeps our stdin.
# ---------------------------------------------------------------------------
(trap - INT QUIT; exec "$@") <&0 &
child=$!
wait "$child"
rc=$?
child=""
exit "$rc"
