#!/usr/bin/env python3
"""Where vsd's CPU goes per acknowledged message, from a flat perf profile.

Usage: cpu_profile.py PERF_REPORT CAPACITY_JSON
  PERF_REPORT    the output of `perf report --stdio --no-children --sort dso,sym` over vsd
  CAPACITY_JSON  vsd_load's capacity result (its last line): messages_acked_per_s and
                 vsd_cpu_cores turn shares of vsd's CPU into microseconds per acknowledged message

Prints one JSON object: each category's share of vsd's samples and its microseconds per message,
then the 20 hottest symbols. The profile is flat (each sample goes to the function it was in), so
a category is the sum of its leaf functions. Debian's libsodium is stripped, so its samples are
one category (Ed25519 verify and sign, SHA-512 inside them); SHA-256 is OpenSSL's (libcrypto, its
own category); `crypto_expected_us_per_message`
says what one verify and half a signature per message cost at the raw rates measured in the same
run (before and after the load), to set against it.
"""
import json
import re
import sys

# First match wins; (name, dso pattern, symbol pattern).
CATEGORIES = [
    ("libsodium", r"libsodium", r"."),
    ("sha256_libcrypto", r"libcrypto", r"."),
    ("sqlite", r"sqlite", r"."),
    ("kernel", r"kernel", r"."),
    # glibc's malloc, or vsd's tcmalloc (its whole library: its symbols are its own namespaces).
    ("allocation", r"tcmalloc", r"."),
    ("allocation", r".", r"malloc|_int_free|cfree|operator new|operator delete|tcache|free$"),
    ("memory_copies", r".", r"mem(cpy|move|set|cmp)|__memcpy|__memmove|__memset"),
    ("locks", r".", r"pthread_mutex|futex|pthread_cond"),
    ("boost_asio", r".", r"boost::asio"),
    ("vsd_code", r"vsd", r"."),
    ("other", r".", r"."),
]

LINE = re.compile(r"^\s*([0-9.]+)%\s+(\S+)\s+\[(.)\]\s+(.*?)\s*$")


def main():
    report_path, capacity_path = sys.argv[1], sys.argv[2]
    with open(capacity_path, encoding="utf-8") as f:
        capacity = json.loads(f.read().strip().splitlines()[-1])
    acked = capacity["messages_acked_per_s"]
    cores = capacity["vsd_cpu_cores"]
    us_per_message = cores * 1e6 / acked if acked else 0.0
    shares = {name: 0.0 for name, _, _ in CATEGORIES}
    symbols = []
    with open(report_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            percent, dso, _, symbol = float(m.group(1)), m.group(2), m.group(3), m.group(4)
            symbols.append((percent, dso, symbol))
            for name, dso_pattern, symbol_pattern in CATEGORIES:
                if re.search(dso_pattern, dso) and re.search(symbol_pattern, symbol):
                    shares[name] += percent
                    break
    if not symbols:
        sys.exit(f"cpu_profile.py: {report_path} holds no samples (did perf record vsd? "
                 "run it by hand to see why: perf record -p <vsd pid>)")
    total = sum(shares.values())
    # A digest and a heartbeat per receipt: one verify per message, one signature per two.
    expected = {}
    for when in ("before", "after"):
        verify = capacity.get(f"raw_verify_{when}_per_s")
        sign = capacity.get("raw_sign_per_s")
        if verify and sign:
            expected[when] = round(1e6 / verify + 0.5e6 / sign, 2)
    out = {
        "messages_acked_per_s": acked,
        "crypto_expected_us_per_message": expected,
        "vsd_cpu_cores": cores,
        "vsd_cpu_us_per_message": round(us_per_message, 2),
        "categories": {
            name: {"share": round(share / total, 4),
                   "us_per_message": round(us_per_message * share / total, 2)}
            for name, share in sorted(shares.items(), key=lambda kv: -kv[1])
        },
        "hottest": [{"percent": p, "dso": d, "symbol": s}
                    for p, d, s in sorted(symbols, key=lambda row: -row[0])[:20]],
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
