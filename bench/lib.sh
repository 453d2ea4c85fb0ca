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

wait_port() {  # PORT: until something listens on 127.0.0.1:PORT, at most 30 s
  for _ in $(seq 600); do
    ss -ltn 2>/dev/null | grep -q "127.0.0.1:$1 " && return 0
    sleep 0.05
  done
  echo "nothing listens on port $1" >&2
  return 1
}

# A PostgreSQL server for runs against the PostgreSQL store (docs/STORE.md §11): initdb in
# $work/pg, as the postgres user when run as root (PostgreSQL refuses root), on 127.0.0.1 with
# trust authentication and Debian's default settings (fsync and synchronous_commit on: as durable
# as the SQLite store). It runs on vsd's CPUs: the store is part of what is measured. Sets pg_port
# and pg_stop (the command that stops it); pg_database NAME creates a database and prints its URI.
start_postgres() {
  local bin as=()
  bin=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d | sort -V | tail -n 1)
  [ -x "$bin/initdb" ] || { echo "no PostgreSQL server (Debian package postgresql)" >&2; return 1; }
  mkdir -p "$work/pg"
  if [ "$(id -u)" = 0 ]; then
    chmod 755 "$work"
    chown postgres "$work/pg"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$bin/initdb" -D "$work/pg" -U postgres --auth=trust -E UTF8 >/dev/null
  pg_port=$(free_port)
  "${as[@]}" "${vsd_pin[@]}" "$bin/pg_ctl" -D "$work/pg" -l "$work/pg/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $work/pg" start >/dev/null
  pg_stop=("${as[@]}" "$bin/pg_ctl" -D "$work/pg" -m fast -w stop)
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
