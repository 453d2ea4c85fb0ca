#!/usr/bin/env python3
"""vsd's system calls per acknowledged message, from `perf stat` counts of syscall tracepoints.

Usage: syscall_counts.py PERF_STAT_CSV SECONDS CAPACITY_JSON
  PERF_STAT_CSV  the output of `perf stat -x, -e raw_syscalls:sys_enter -e syscalls:sys_enter_X
                 ... -p VSD_PID -- sleep SECONDS`
  SECONDS        how long perf counted (within the capacity run's measured seconds)
  CAPACITY_JSON  vsd_load's capacity result (its last line): messages_acked_per_s is the
                 denominator

Prints one JSON object: every system call vsd made per acknowledged message (`total`, from
raw_syscalls:sys_enter) and each counted call's share of it, largest first; calls not listed
in the -e options are `other`. Unlike a CPU profile these counts do not move with the machine's
speed, so runs taken hours apart compare: a call per message fewer is a kernel entry fewer.
"""
import json
import sys


def main():
    stat_path, seconds, capacity_path = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    with open(capacity_path, encoding="utf-8") as f:
        capacity = json.loads(f.read().strip().splitlines()[-1])
    messages = capacity["messages_acked_per_s"] * seconds
    counts = {}
    with open(stat_path, encoding="utf-8") as f:
        for line in f:
            fields = line.strip().split(",")
            # perf stat -x, : value, unit, event, ...; "<not counted>" where an event failed.
            if len(fields) < 3 or not fields[0].isdigit():
                continue
            counts[fields[2]] = int(fields[0])
    total = counts.pop("raw_syscalls:sys_enter", None)
    if total is None:
        sys.exit(f"syscall_counts.py: {stat_path} has no raw_syscalls:sys_enter count: perf "
                 "could not count the syscall tracepoints (its error is above; they need root or "
                 "kernel.perf_event_paranoid <= -1, and tracefs mounted)")
    if messages <= 0:
        sys.exit(f"syscall_counts.py: {capacity_path} shows no message acknowledged in the "
                 "capacity run: nothing to divide by (see the run's errors above)")
    named = {event.removeprefix("syscalls:sys_enter_"): n for event, n in counts.items() if n}
    named["other"] = max(total - sum(named.values()), 0)
    per_message = {name: round(n / messages, 3)
                   for name, n in sorted(named.items(), key=lambda kv: -kv[1])}
    print(json.dumps({
        "syscalls_per_message": round(total / messages, 3),
        "messages_counted": round(messages),
        "per_message_by_call": per_message,
    }))


if __name__ == "__main__":
    main()
