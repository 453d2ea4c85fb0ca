#!/usr/bin/env bash
# The whole story on 127.0.0.1, nothing mocked: a validation server, an honest game server and a
# game server that turns rogue mid-match, each with bot players; the rogue server's revocation, its
# players' disconnects and its attempt to join again refused (its identity is quarantined), the
# operator's pardon that lets it back; a Prometheus scrape of vsd checked against its store; a VS
# restart mid-match that no honest player notices; then the investigator's view of the log.
#
#   scripts/demo.sh [--quick] [--no-build] [--bin-dir DIR] [--work-dir DIR]
#
#   --quick      shorter timings (the test suite runs the demo this way)
#   --no-build   use already built programs (with --bin-dir)
#   --bin-dir    where vsd, gsd, gsd-rogue, client and audit-cli are (default: build-demo/bin)
#   --work-dir   where keys, configs, logs, the store and the report go (default: demo-run)
#
# Exits non-zero if any step fails or any outcome is not what the protocol promises.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
build=1
bin_dir="build-demo/bin"
work=demo-run
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --no-build) build=0 ;;
    --bin-dir) bin_dir=$2; shift ;;
    --work-dir) work=$2; shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ -t 1 ]; then bold=$'\e[1m'; red=$'\e[31m'; green=$'\e[32m'; off=$'\e[0m'
else bold=; red=; green=; off=; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$off"; }
say() { printf '   %s\n' "$*"; }
fail() { printf '%sdemo FAILED: %s%s\n' "$red" "$*" "$off" >&2; exit 1; }

if [ "$build" = 1 ]; then
  step "Setting up and building (Release)"
  scripts/install-deps.sh
  # A unity build, as CI's: a target's sources compile as one unit, so the build CI checks is the
  # build the demo makes (and it is faster).
  cmake -S . -B build-demo -DCMAKE_BUILD_TYPE=Release -DGSVS_BUILD_TESTS=OFF \
    -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=0 >/dev/null
  cmake --build build-demo -j2 --target vsd gsd gsd-rogue client audit-cli
fi
for program in vsd gsd gsd-rogue client audit-cli; do
  [ -x "$bin_dir/$program" ] || fail "$bin_dir/$program is missing (build first, or pass --bin-dir)"
done
bin=$(cd "$bin_dir" && pwd)

# Tickets (and the session's liveness) stay valid for longer than a VS restart takes, so the
# restart step's players play through it (PROTOCOL.md §8.15): the restart, its store checks and
# gsd's reconnect backoff took 1.3 s on a quiet host and 3.2 s on a CI host compiling beside the
# demo under the sanitizers, hence 5 s. The honest players play until the demo stops them after
# the restart (plus honest_tail seconds), however slow the host is; --duration-s is only the
# backstop that ends them should the demo itself be killed. The rogue server cheats rogue_after ms
# after its join, by when its three players must have connected: starting six clients took 2.8 s
# on a CI host running sanitizer tests beside the demo, and player 6 came after the revocation.
if [ "$quick" = 1 ]; then
  period=200; validity=5000; hb_interval=100; hb_timeout=5000; digest=200
  rogue_after=6000; honest_tail=1
else
  period=500; validity=5000; hb_interval=250; hb_timeout=5000; digest=250
  rogue_after=8000; honest_tail=8
fi
honest_backstop_s=600
skew=500
bound=$((validity + skew))

rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_for() {  # FILE TEXT SECONDS
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

step "Keys and configuration in $work"
"$bin/vsd" keygen --out "$work/vs.key" >/dev/null
"$bin/gsd" keygen --out "$work/honest-gs.key" >/dev/null
"$bin/gsd" keygen --out "$work/rogue-gs.key" >/dev/null
for i in 1 2 3 4 5 6; do "$bin/client" keygen --out "$work/player$i.key" >/dev/null; done
build_hash=$("$bin/gsd" version | grep -Eo '[0-9a-f]{64}' | head -1)
vs_port=$(free_port)
metrics_port=$(free_port)
cat >"$work/vsd.toml" <<EOF
listen = "127.0.0.1:$vs_port"
metrics_listen = "127.0.0.1:$metrics_port"
store = "$work/vs.db"
key = "$work/vs.key"
admin_socket = "$work/vsd.sock"
allowed_gs = ["$(cat "$work/honest-gs.key.pub")", "$(cat "$work/rogue-gs.key.pub")"]
allowed_builds = ["$build_hash"]
ticket_period_ms = $period
ticket_validity_ms = $validity
heartbeat_interval_ms = $hb_interval
heartbeat_timeout_ms = $hb_timeout
digest_timeout_ms = $((hb_timeout + 2000))
checkpoint_interval_ms = 1000
max_speed_m_s = 7.0
EOF
gs_config() {  # NAME PORT
  cat >"$work/$1.toml" <<EOF
vs = "127.0.0.1:$vs_port"
vs_public_key = "$work/vs.key.pub"
key = "$work/$1.key"
listen = "127.0.0.1:$2"
store = "$work/$1.db"
digest_interval_ms = $digest
max_speed_m_s = 7.0
reconnect_backoff_min_ms = 100
reconnect_backoff_max_ms = 1000
EOF
}
honest_port=$(free_port)
rogue_port=$(free_port)
gs_config honest-gs "$honest_port"
gs_config rogue-gs "$rogue_port"
say "VS public key      $(cat "$work/vs.key.pub")"
say "gsd build (sw_hash) $build_hash"
say "tickets every ${period} ms, valid ${validity} ms; clients allow ${skew} ms skew"

step "Starting the validation server"
"$bin/vsd" run --config "$work/vsd.toml" >"$work/vsd.log" 2>&1 &
vsd_pid=$!
pids+=($!)
wait_for "$work/vsd.log" "listening on" 10 || fail "vsd did not start: $(tail -5 "$work/vsd.log")"
say "$(grep -m1 'listening on' "$work/vsd.log" | sed 's/^.*vsd: //')"

step "Starting an honest game server and a game server that turns rogue after $((rogue_after / 1000)) s"
"$bin/gsd" run --config "$work/honest-gs.toml" >"$work/honest-gs.log" 2>&1 &
pids+=($!)
"$bin/gsd-rogue" run --config "$work/rogue-gs.toml" --claim-build-of "$bin/gsd" --speed \
  --turn-rogue-after-ms "$rogue_after" >"$work/rogue-gs.log" 2>&1 &
pids+=($!)
wait_for "$work/honest-gs.log" "listening for clients" 10 || fail "honest gsd did not join: $(tail -5 "$work/honest-gs.log")"
wait_for "$work/rogue-gs.log" "listening for clients" 10 || fail "rogue gsd did not join: $(tail -5 "$work/rogue-gs.log")"
grep -h "joined from" "$work/vsd.log" | sed 's/^.*vsd: /   vsd: /'

step "Six bot players join, three on each server"
client_pids=()
players_began=$(date +%s)
for i in 1 2 3 4 5 6; do
  if [ "$i" -le 3 ]; then port=$honest_port; gs=honest; else port=$rogue_port; gs=rogue; fi
  "$bin/client" run --gs "127.0.0.1:$port" --vs-pubkey "$work/vs.key.pub" --key "$work/player$i.key" \
    --bot --speed-m-s 5 --duration-s "$honest_backstop_s" --skew-ms "$skew" \
    --events "$work/player$i.events" 2>"$work/player$i.log" &
  client_pids+=($!)
  pids+=($!)
  echo "$gs" >"$work/player$i.gs"
done
for i in 1 2 3 4 5 6; do
  wait_for "$work/player$i.events" '"connected"' 10 || fail "player $i did not connect: $(tail -3 "$work/player$i.log")"
done
sleep 1
for i in 1 2 3 4 5 6; do
  say "player $i on the $(cat "$work/player$i.gs") server: $(grep -c ticket_accepted "$work/player$i.events") tickets accepted so far"
done

step "Waiting for the rogue server to cheat and the VS to revoke it"
wait_for "$work/vsd.log" "revoked: speed_violation" $((rogue_after / 1000 + 20)) ||
  fail "the rogue server was not revoked for speed: $(tail -5 "$work/vsd.log")"
grep -h "revoked: speed_violation" "$work/vsd.log" | sed 's/^.*vsd: /   vsd: /' | fold -s -w 110 | sed '2,$s/^/        /'

step "The rogue server's players drop it"
exit_codes=()
for i in 4 5 6; do
  code=0
  wait "${client_pids[$((i - 1))]}" || code=$?
  exit_codes+=("$code")
done
revoked_ms=$(sqlite3 "$work/vs.db" "select vs_time_ms from log_entry where kind = 11 order by seq limit 1")
for i in 4 5 6; do
  line=$(grep '"disconnected"' "$work/player$i.events" | tail -1)
  t_ms=$(printf '%s' "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["t_ms"])')
  reason=$(printf '%s' "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["reason"])')
  after=$((t_ms - revoked_ms))
  say "player $i: disconnected ($reason), exit ${exit_codes[$((i - 4))]}, ${after} ms after the revocation (bound ${bound} ms)"
  [ "${exit_codes[$((i - 4))]}" = 3 ] || [ "${exit_codes[$((i - 4))]}" = 4 ] ||
    fail "player $i exited ${exit_codes[$((i - 4))]}, expected 3 (revoked) or 4 (ticket starvation)"
  [ "$after" -ge 0 ] || fail "player $i left ${after#-} ms BEFORE the revocation ($reason): an honest server lost a player"
  [ "$after" -le "$bound" ] || fail "player $i left ${after} ms after the revocation, over the ${bound} ms bound"
done

step "The rogue server tries to join again: its identity is quarantined"
wait_for "$work/vsd.log" "rejected: quarantined" 20 ||
  fail "the rogue server's new join was not refused as quarantined: $(tail -5 "$work/vsd.log")"
grep -h -m1 "rejected: quarantined" "$work/vsd.log" | sed 's/^.*vsd: /   vsd: /' | fold -s -w 110 | sed '2,$s/^/        /'
say "\$ vsd status   # the quarantined identity and the revocation that began it"
"$bin/vsd" status --admin-socket "$work/vsd.sock" | sed 's/^/     /' || fail "vsd status failed"

step "The operator reviews the case and pardons the rogue server's identity"
# The pardon is the operator's call, logged as a VS-signed Pardon: the identity's joins are
# accepted again (PROTOCOL.md §8.16). The rogue server, still retrying, joins at its next attempt.
joins_before=$(grep -c "joined from" "$work/vsd.log" || true)
say "\$ vsd pardon --identity $(cut -c1-16 "$work/rogue-gs.key.pub")... --reason \"reviewed in the demo\""
"$bin/vsd" pardon --admin-socket "$work/vsd.sock" --identity "$(cat "$work/rogue-gs.key.pub")" \
  --reason "reviewed in the demo: let the host back to show the pardon" | fold -s -w 100 | sed 's/^/     /' ||
  fail "vsd pardon failed"
grep -h -m1 "pardoned by the operator" "$work/vsd.log" | sed 's/^.*vsd: /   vsd: /' | fold -s -w 110 | sed '2,$s/^/        /'
for ((i = 0; i < 200; i++)); do
  [ "$(grep -c "joined from" "$work/vsd.log" || true)" -gt "$joins_before" ] && break
  sleep 0.1
done
[ "$(grep -c "joined from" "$work/vsd.log" || true)" -gt "$joins_before" ] ||
  fail "the pardoned server did not join again: $(tail -5 "$work/vsd.log")"
grep -h "joined from" "$work/vsd.log" | tail -1 | sed 's/^.*vsd: /   vsd: /'

step "The operator's view: a Prometheus scrape of vsd, checked against the store"
say "GET http://127.0.0.1:$metrics_port/metrics: a few of the figures OPERATIONS.md §8 lists"
scripts/scrape_check.py "127.0.0.1:$metrics_port" "$work/vs.db" | sed 's/^/     /' ||
  fail "vsd's metrics do not agree with its store"

step "The VS restarts mid-match (an upgrade): no honest player notices"
tickets() { grep -c ticket_accepted "$work/player$1.events" || true; }
for i in 1 2 3; do tickets_before[i]=$(tickets "$i"); done
resumes() { grep -c "resumed with the VS" "$work/honest-gs.log" || true; }
resumed_before=$(resumes)
restart_began=$(date +%s%3N)
kill -TERM "$vsd_pid"
wait "$vsd_pid" || fail "vsd did not stop cleanly: $(tail -5 "$work/vsd.log")"
grep -q "stopped: store flushed" "$work/vsd.log" || fail "vsd did not flush its store at the stop"
say "vsd stopped (SIGTERM): $(grep -m1 'stopped:' "$work/vsd.log" | sed 's/^.*vsd: //')"
mv "$work/vsd.log" "$work/vsd-before-restart.log"
"$bin/vsd" run --config "$work/vsd.toml" >"$work/vsd.log" 2>&1 &
vsd_pid=$!
pids+=($!)
wait_for "$work/vsd.log" "listening on" 10 || fail "the new vsd did not start: $(tail -5 "$work/vsd.log")"
say "a new vsd on the same store and key: $(grep -c 'resumable for' "$work/vsd.log" || true) session(s) left live, resumable"
for _ in $(seq 100); do
  [ "$(resumes)" -gt "$resumed_before" ] && break
  sleep 0.1
done
[ "$(resumes)" -gt "$resumed_before" ] ||
  fail "the honest server did not resume its session: $(tail -5 "$work/honest-gs.log")"
say "the honest server's session was back $(($(date +%s%3N) - restart_began)) ms after the SIGTERM (tickets stay valid ${validity} ms)"
grep -h "resumed with the VS" "$work/honest-gs.log" | tail -1 | sed 's/^.*gsd: /   gsd: /'
sleep 2
for i in 1 2 3; do
  kill -0 "${client_pids[$((i - 1))]}" 2>/dev/null ||
    fail "honest player $i dropped during the VS restart: $(tail -3 "$work/player$i.log")"
  ! grep -q '"disconnected"' "$work/player$i.events" ||
    fail "honest player $i disconnected during the VS restart"
  since=$(($(tickets "$i") - tickets_before[i]))
  [ "$since" -gt 0 ] || fail "honest player $i got no ticket after the VS restart"
  say "player $i: ${tickets_before[i]} tickets before the restart, ${since} more since; still connected"
done

step "The honest match plays on, then everything stops cleanly"
sleep "$honest_tail"
for i in 1 2 3; do kill -TERM "${client_pids[$((i - 1))]}" 2>/dev/null || true; done
for i in 1 2 3; do
  code=0
  wait "${client_pids[$((i - 1))]}" || code=$?
  [ "$code" = 0 ] || fail "honest player $i exited $code: $(tail -3 "$work/player$i.log")"
  rejected=$(grep -c '"input_rejected"' "$work/player$i.events" || true)
  say "player $i: played $(($(date +%s) - players_began)) s, $(grep -c ticket_accepted "$work/player$i.events") tickets, ${rejected} inputs rejected, stopped by SIGTERM, exit 0"
done
for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()
grep -q "stopped: store flushed" "$work/vsd.log" || fail "vsd did not stop cleanly"
say "$(grep -m1 'stopped:' "$work/vsd.log" | sed 's/^.*vsd: //')"

step "The investigator's view"
audit="$bin/audit-cli"
say "\$ audit-cli verify vs.db --vs-pubkey vs.key.pub"
"$audit" verify "$work/vs.db" --vs-pubkey "$work/vs.key.pub" | sed 's/^/     /' || fail "audit-cli verify found a problem"
say "\$ audit-cli sessions vs.db"
"$audit" sessions "$work/vs.db" | sed 's/^/     /' || fail "audit-cli sessions failed"
rogue_session=$(sqlite3 "$work/vs.db" "select session_id from log_entry where kind = 11 order by seq limit 1")
honest_session=$(sqlite3 "$work/vs.db" "select session_id from log_entry where kind = 3 and session_id != $rogue_session order by seq limit 1")
say "\$ audit-cli explain vs.db --session $rogue_session"
"$audit" explain "$work/vs.db" --session "$rogue_session" | sed 's/^/     /' || fail "audit-cli explain failed"
"$audit" report "$work/vs.db" --session "$rogue_session" --vs-pubkey "$work/vs.key.pub" -o "$work/dispute-report.json" >/dev/null ||
  fail "audit-cli report failed"
say "\$ audit-cli verify-report dispute-report.json --vs-pubkey vs.key.pub"
"$audit" verify-report "$work/dispute-report.json" --vs-pubkey "$work/vs.key.pub" | sed 's/^/     /' ||
  fail "the dispute report did not verify"
"$audit" timeline "$work/vs.db" --session "$rogue_session" --format svg -o "$work/rogue-timeline.svg" ||
  fail "audit-cli timeline failed"

# The honest session ended only because the demo stopped its programs, never for a rule. They
# get SIGTERM at once, so either the GS leaves first (gs_left) or the VS stops first (vs_shutdown).
honest_reason=$(sqlite3 "$work/vs.db" "select count(*) from log_entry where kind = 11 and session_id = $honest_session")
if [ "$honest_reason" != 0 ]; then
  "$audit" explain "$work/vs.db" --session "$honest_session" | grep -qi "vs_shutdown\|gs_left\|shutting down" ||
    fail "the honest session was revoked for a rule"
fi

step "${green}Done${off}"
say "store          $work/vs.db  (and the game servers' stores: honest-gs.db, rogue-gs.db)"
say "report         $work/dispute-report.json"
say "timeline       $work/rogue-timeline.svg"
say "logs           $work/*.log, player events $work/player*.events"
