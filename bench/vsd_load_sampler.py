#!/usr/bin/env python3
"""What vsd's store does during a bench/vsd_load.sh scale run, every 100 ms.

  sample URL STORE OUT   until SIGTERM: one JSON line per tick to OUT with the commit histogram
                         (commits, commits over 50 ms), the checkpoints run inside commits and the
                         WAL's pages (vsd's /metrics at URL), and the WAL's last frame and the
                         frames copied back, from the header of STORE-shm (SQLite's wal-index:
                         mxFrame at byte 16, nBackfill at byte 96, native byte order)
  summarize OUT          one JSON object: commits over 50 ms, checkpoints inside commits, how many
                         of the slow commits fell in a tick (or the next) with such a checkpoint,
                         the highest WAL seen and how often it started over
"""
import json
import signal
import struct
import sys
import time
import urllib.request

SLOW_BUCKET = 'vsd_store_commit_seconds_bucket{le="0.05"}'
WANTED = {
    "vsd_store_commit_seconds_count": "commits",
    SLOW_BUCKET: "commits_up_to_50ms",
    "vsd_store_wal_checkpoint_in_commit_seconds_count": "checkpoints_in_commits",
    "vsd_store_wal_checkpoint_in_commit_seconds_sum": "checkpoint_in_commit_seconds",
    "vsd_store_wal_pages": "wal_pages",
}


def scrape(url):
    out = {}
    with urllib.request.urlopen(url, timeout=1) as answer:
        for line in answer.read().decode().splitlines():
            name, _, value = line.rpartition(" ")
            if name in WANTED:
                out[WANTED[name]] = float(value)
    return out


def wal_index(store):
    try:
        with open(store + "-shm", "rb") as shm:
            header = shm.read(100)
    except OSError:
        return {}
    if len(header) < 100:
        return {}
    return {"wal_frame": struct.unpack_from("=I", header, 16)[0],
            "wal_backfilled": struct.unpack_from("=I", header, 96)[0]}


def sample(url, store, out_path):
    running = [True]
    signal.signal(signal.SIGTERM, lambda *_: running.__setitem__(0, False))
    started = time.monotonic()
    with open(out_path, "w") as out:
        while running[0]:
            tick = time.monotonic()
            row = {"t": round(tick - started, 3)}
            try:
                row.update(scrape(url))
            except OSError:
                pass  # vsd not listening yet, or gone
            row.update(wal_index(store))
            out.write(json.dumps(row) + "\n")
            out.flush()
            time.sleep(max(0.0, 0.1 - (time.monotonic() - tick)))


def summarize(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    rows = [r for r in rows if "commits" in r]
    if not rows:
        return {"samples": 0}
    slow = [r["commits"] - r["commits_up_to_50ms"] for r in rows]
    checkpoints = [r.get("checkpoints_in_commits", 0) for r in rows]
    slow_ticks = slow_with_checkpoint = 0
    for i in range(1, len(rows)):
        new_slow = slow[i] - slow[i - 1]
        if new_slow <= 0:
            continue
        slow_ticks += new_slow
        # A commit's duration and its checkpoint are observed together; a scrape between the two
        # puts them one tick apart.
        near = checkpoints[min(i + 1, len(rows) - 1)] - checkpoints[i - 1]
        if near > 0:
            slow_with_checkpoint += new_slow
    frames = [r["wal_frame"] for r in rows if "wal_frame" in r]
    starts_over = sum(1 for a, b in zip(frames, frames[1:]) if b < a)
    last = rows[-1]
    count = last.get("checkpoints_in_commits", 0)
    return {
        "samples": len(rows),
        "commits": int(last["commits"]),
        "commits_over_50ms": int(slow[-1]),
        "checkpoints_in_commits": int(count),
        "mean_checkpoint_in_commit_ms":
            round(1000 * last.get("checkpoint_in_commit_seconds", 0) / count, 1) if count else 0,
        "slow_commits_with_a_checkpoint_in_that_tick": slow_with_checkpoint,
        "slow_commits_seen_by_tick": slow_ticks,
        "highest_wal_pages": max(frames) if frames else 0,
        "wal_started_over": starts_over,
    }


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "sample":
        sample(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) == 3 and sys.argv[1] == "summarize":
        print(json.dumps(summarize(sys.argv[2])))
    else:
        sys.exit(__doc__)
