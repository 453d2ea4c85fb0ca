# shellcheck shell=bash
# Sourced by bench/store_start.sh and bench/long_run.sh: how long a real `vsd run` takes to start.
#   time_vsd_start BIN_DIR WORK STORE_DIR KEY_FILE
# Starts vsd on the segmented store STORE_DIR with the key it was signed with, prints
# {"vsd_start_ms": N} (from the launch to its "listening on" log line: keys, configuration, the
# store open, recovery, sockets), then stops it. Returns 1, with vsd's log on stderr, if vsd exits
# before it listens. WORK holds its configuration, log and admin socket.
time_vsd_start() {
  local bin=$1 work=$2 store=$3 key=$4 log="$2/vsd.log" started now pid
  local any_key
  any_key=$(printf 'a%.0s' $(seq 64))
  cat >"$work/vsd.toml" <<TOML
listen = "127.0.0.1:$((20000 + RANDOM % 20000))"
store = "$store/"
key = "$key"
admin_socket = "$work/vsd.sock"
allowed_gs = ["$any_key"]
allowed_builds = ["$any_key"]
TOML
  started=$(date +%s%N)
  "$bin/vsd" run --config "$work/vsd.toml" >"$log" 2>&1 &
  pid=$!
  until grep -q "listening on" "$log"; do
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.005
  done
  now=$(date +%s%N)
  kill -TERM "$pid"
  wait "$pid" || true
  echo "{\"vsd_start_ms\": $(((now - started) / 1000000))}"
}
