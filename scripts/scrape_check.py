#!/usr/bin/env python3
"""Scrapes a running vsd's Prometheus endpoint and checks its log counters against its store.

usage: scripts/scrape_check.py HOST:PORT STORE.db

Prints the figures an operator watches (docs/OPERATIONS.md §8), then each counter that counts log
entries beside the number of such entries in the store. vsd counts an entry as it places it in
the log and commits it a few milliseconds later, so a single reading can catch a counter one entry
ahead of the store: the check reads scrape, store, scrape again, and takes the reading in which
both scrapes agree, trying up to 50 times 0.1 s apart.

Exit status: 0 when every counter agrees with the store, 1 when one does not, 2 when the endpoint
or the store cannot be read. A single-file store only (a segmented store spreads its entries over
several files).
"""
import sqlite3
import sys
import time
import urllib.request

# Counter (summed over its labels) -> the message kind whose log entries it counts (PROTOCOL.md
# Appendix A).
COUNTED_KINDS = {
    "vsd_joins_accepted_total": (3, "JoinAccept"),
    "vsd_joins_rejected_total": (4, "JoinReject"),
    "vsd_tickets_issued_total": (9, "PlayTicket"),
    "vsd_revocations_total": (11, "Revocation"),
}
SHOWN = [
    "vsd_sessions_live",
    "vsd_joins_accepted_total",
    'vsd_joins_rejected_total{reason="quarantined"}',
    'vsd_revocations_total{reason="speed_violation"}',
    "vsd_tickets_issued_total",
    "vsd_store_entries",
    "vsd_store_commit_seconds_count",
    "vsd_store_queue_entries",
]


def scrape(address):
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        samples[name] = float(value)
    return samples


def summed(samples, metric):
    return sum(v for k, v in samples.items() if k == metric or k.startswith(metric + "{"))


def store_counts(store):
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT kind, count(*) FROM log_entry GROUP BY kind").fetchall()
    return dict(rows)


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    address, store = sys.argv[1], sys.argv[2]
    try:
        for _ in range(50):
            before = scrape(address)
            counts = store_counts(store)
            after = scrape(address)
            agree = all(summed(after, m) == counts.get(k, 0) for m, (k, _) in COUNTED_KINDS.items())
            if before == after and agree:
                break
            time.sleep(0.1)
    except (OSError, sqlite3.Error) as error:
        print(f"scrape_check: cannot read {address} or {store}: {error}", file=sys.stderr)
        return 2
    for name in SHOWN:
        print(f"{name:50} {after.get(name, 0):g}")
    failed = False
    for metric, (kind, kind_name) in COUNTED_KINDS.items():
        counted, logged = summed(after, metric), counts.get(kind, 0)
        verdict = "agrees" if counted == logged else "DISAGREES"
        failed |= counted != logged
        print(f"{metric:30} {counted:6g}   {kind_name} entries in the store {logged:6}   {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
