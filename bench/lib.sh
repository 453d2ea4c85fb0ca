# Helpers the bench scripts share. Sourced after `cd` to the repository root, never run.

# The CPUs of vsd and of the load generator, disjoint so that nothing is shared (VSD_CPUS and
# GEN_CPUS, taskset lists; by default the lower and upper half of the machine), the taskset
# prefixes that pin each (vsd_pin, gen_pin) and vsd's threads (THREADS, by default one a CPU).
# On one CPU nothing is pinned.
pin_cpus() {
  local cpus n=0 part
  cpus=$(nproc)
  if [ "$cpus" -ge 2 ]; then
    vsd_cpus=${VSD_CPUS:-0-$((cpus / 2 - 1))}
    gen_cpus=${GEN_CPUS:-$((cpus / 2))-$((cpus - 1))}
    vsd_pin=(taskset -c "$vsd_cpus")
    gen_pin=(taskset -c "$gen_cpus")
    for part in ${vsd_cpus//,/ }; do  # "0-3,6" names 5 CPUs
      if [[ $part == *-* ]]; then n=$((n + ${part#*-} - ${part%-*} + 1)); else n=$((n + 1)); fi
    done
    threads=${THREADS:-$n}
  else
    vsd_cpus=""
    gen_cpus=""
    vsd_pin=()
    gen_pin=()
    threads=${THREADS:-1}
  fi
}

# Kills what the script started (its PIDs in `pids`) and removes $work, unless KEEP is set.
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "logs kept in $work" >&2; else rm -rf "$work"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# VSD ADMIN_SOCKET: until that vsd answers `vsd status`, at most 30 s. It does once started: its
# store recovered and its GS port accepted on (the port itself is bound before the recovery, so
# that something listens there says nothing yet).
wait_vsd_ready() {
  for _ in $(seq 600); do
    "$1" status --admin-socket "$2" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "vsd does not answer on $2" >&2
  return 1
}

# A PostgreSQL server for runs against the PostgreSQL store (docs/STORE.md §11): initdb in
# $work/pg, as the postgres user when run as root (PostgreSQL refuses root), on 127.0.0.1 with
# trust authentication and Debian's default settings (fsync and synchronous_commit on: as durable
# as the SQLite store). It runs on vsd's CPUs: the store is part of what is measured. Sets pg_port
# and pg_dir; stop_postgres stops it; pg_database NAME creates a database and prints its URI.
# Where the postgres user cannot reach $work (a checkout under a private folder, such as one made
# by mktemp -d), the cluster goes to a folder of its own under /tmp, which stop_postgres removes.
start_postgres() {
  local bin
  pg_as=()
  bin=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d | sort -V | tail -n 1)
  [ -x "$bin/initdb" ] || { echo "no PostgreSQL server (Debian package postgresql)" >&2; return 1; }
  pg_ctl=$bin/pg_ctl  # before pg_dir: stop_postgres needs both
  pg_dir=$work/pg
  if [ "$(id -u)" = 0 ]; then
    pg_as=(runuser -u postgres --)
    chmod 755 "$work"
    if ! "${pg_as[@]}" test -x "$work"; then
      pg_dir=$(mktemp -d /tmp/gsvs-pg.XXXXXX)/pg
      chmod 755 "${pg_dir%/pg}"
      "${pg_as[@]}" test -x "${pg_dir%/pg}" || {
        echo "the postgres user cannot reach $work nor ${pg_dir%/pg}: make a folder above them traversable (chmod o+x)" >&2
        rm -rf "${pg_dir%/pg}"
        return 1
      }
    fi
  fi
  mkdir -p "$pg_dir"
  [ ${#pg_as[@]} = 0 ] || chown postgres "$pg_dir"
  "${pg_as[@]}" "$bin/initdb" -D "$pg_dir" -U postgres --auth=trust -E UTF8 >/dev/null
  pg_port=$(free_port)
  "${pg_as[@]}" "${vsd_pin[@]}" "$pg_ctl" -D "$pg_dir" -l "$pg_dir/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_dir" start >/dev/null
}
stop_postgres() {  # for an EXIT trap: quiet, and a no-op when no server was started
  [ -n "${pg_dir:-}" ] || return 0
  "${pg_as[@]}" "$pg_ctl" -D "$pg_dir" -m fast -w stop >/dev/null 2>&1 || true
  case $pg_dir in "$work"/*) ;; *) rm -rf "${pg_dir%/pg}" ;; esac
  pg_dir=
}
pg_database() {  # NAME: a new database; prints its URI
  psql -X -q -d "postgresql://postgres@127.0.0.1:$pg_port/postgres" -c "CREATE DATABASE $1" >/dev/null
  echo "postgresql://postgres@127.0.0.1:$pg_port/$1"
}

wait_text() {  # FILE TEXT SECONDS
  for _ in $(seq $(($3 * 20))); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
wait_each() {  # COUNT FILE-PATTERN (%d: 1..COUNT) TEXT: each file shows TEXT within 30 s
  local i file
  for i in $(seq "$1"); do
    file=$(printf "$2" "$i")
    wait_text "$file" "$3" 30 || { echo "no '$3' in $file" >&2; tail -5 "$file" >&2; exit 1; }
  done
}
now_ms() { date +%s%3N; }

# The options every game-server bench takes: --no-build, --bin-dir DIR, --work-dir DIR, --help
# (the script's header). Sets build_programs, bin_dir and work. NAME names the script in errors.
bench_options() {  # NAME ARGS...
  local name=$1
  shift
  build_programs=1
  bin_dir=
  work=
  while [ $# -gt 0 ]; do
    case "$1" in
      --no-build) build_programs=0 ;;
      --bin-dir) bin_dir=$2; shift ;;
      --work-dir) work=$2; shift ;;
      -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
      *) echo "$name: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
  done
}

# Builds (Release, in BUILD_DIR, default build-bench) or finds in --bin-dir the programs a bench
# runs; sets bin. Also raises the descriptor limit for thousands of connections.
bench_programs() {  # NAME PROGRAM...
  local name=$1 build program
  shift
  if [ "$build_programs" = 1 ]; then
    build=${BUILD_DIR:-build-bench}
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DGSVS_BUILD_TESTS=OFF >/dev/null
    cmake --build "$build" -j2 --target "$@" >/dev/null
    bin_dir=${bin_dir:-$build/bin}
  fi
  [ -n "$bin_dir" ] || { echo "$name: --no-build needs --bin-dir" >&2; exit 2; }
  for program in "$@"; do
    [ -x "$bin_dir/$program" ] || { echo "$name: $bin_dir/$program is missing" >&2; exit 2; }
  done
  bin=$(cd "$bin_dir" && pwd)
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
}

# The run's directory: --work-dir emptied, or a new temporary one.
bench_work_dir() {
  if [ -n "$work" ]; then
    rm -rf "$work"
    mkdir -p "$work"
    work=$(cd "$work" && pwd)
  else
    work=$(mktemp -d)
  fi
}

# $game_servers real gsd (keys $work/gsN.key made beforehand) reaching the VS at VS (an address,
# or a fleet's list) under VS_KEY (a key file, or a fleet's key set), each with room for every
# client, on the generator's CPUs; waits until each serves clients.
start_game_servers() {  # VS VS_KEY
  local g gs_port
  for g in $(seq "$game_servers"); do
    gs_port=$(free_port)
    cat >"$work/gs$g.toml" <<TOML
vs = "$1"
vs_public_key = "$2"
key = "$work/gs$g.key"
listen = "127.0.0.1:$gs_port"
store = "$work/gs$g.db"
max_players = $((clients + 10))
TOML
    echo "$gs_port" >"$work/gs$g.port"
    "${gen_pin[@]}" "$bin/gsd" run --config "$work/gs$g.toml" >"$work/gs$g.log" 2>&1 &
    pids+=($!)
  done
  wait_each "$game_servers" "$work/gs%d.log" "listening for clients on"
}

# $clients bot clients (keys $work/cN.key made beforehand) spread over the game servers, trusting
# VS_KEY; waits until each has accepted a ticket. Their PIDs in client_pids.
start_clients() {  # VS_KEY
  local c g
  client_pids=()
  for c in $(seq "$clients"); do
    g=$(((c - 1) % game_servers + 1))
    "${gen_pin[@]}" "$bin/client" run --gs "127.0.0.1:$(cat "$work/gs$g.port")" \
      --vs-pubkey "$1" --key "$work/c$c.key" --bot --log-level warn \
      --events "$work/c$c.events" 2>"$work/c$c.log" &
    client_pids+=($!)
    pids+=($!)
  done
  wait_each "$clients" "$work/c%d.events" '"ticket_accepted"'
}

# Prints how many players dropped: a client that said so, or is gone, before the run ends.
players_dropped() {
  local c dropped=0
  for c in $(seq "$clients"); do
    if grep -q '"disconnected"' "$work/c$c.events" ||
      ! kill -0 "${client_pids[$((c - 1))]}" 2>/dev/null; then
      dropped=$((dropped + 1))
    fi
  done
  echo "$dropped"
}
