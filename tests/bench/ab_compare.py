#!/usr/bin/env python3
"""Compares two builds of futexbox on the same benchmarks, in interleaved runs (before, after,
after, before, ...), and prints each case's median in both and their ratio: how a change to the
tree is checked for regressions on a noisy machine.

Usage: tests/bench/ab_compare.py BEFORE_BIN_DIR AFTER_BIN_DIR [ROUNDS]
  e.g. git worktree add /tmp/before <commit> && (cd /tmp/before && cmake --workflow --preset release)
       tests/bench/ab_compare.py /tmp/before/build/bin build/bin 4
Runs futexbox_bench's SysWakeNoWaiters (the syscall path in process) and futexbox_run_bench's
RunWakeNoWaiters (a served FUTEX_WAKE under futexbox run, and natively) in each build.
"""
import json
import statistics
import subprocess
import sys
import tempfile

CASES = [
    ("futexbox_bench", "^SysWakeNoWaiters/",
     ["--benchmark_min_time=0.2", "--benchmark_repetitions=3"]),
    ("futexbox_run_bench", "^RunWakeNoWaiters", []),
]


def run(bin_dir, exe, pattern, extra, results):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([f"{bin_dir}/{exe}", f"--benchmark_filter={pattern}",
                        f"--benchmark_out={out.name}", "--benchmark_out_format=json"] + extra,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for b in json.load(open(out.name))["benchmarks"]:
            if b.get("run_type") == "aggregate":
                continue
            unit = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]]
            results.setdefault(b["run_name"], []).append(b["real_time"] * unit)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    builds = {"before": sys.argv[1], "after": sys.argv[2]}
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    results = {name: {} for name in builds}
    for r in range(rounds):
        for name in (["before", "after"] if r % 2 == 0 else ["after", "before"]):
            for exe, pattern, extra in CASES:
                run(builds[name], exe, pattern, extra, results[name])
    print(f"| case | before (ns) | after (ns) | after / before |\n|---|---:|---:|---:|")
    for case in sorted(set(results["before"]) | set(results["after"])):
        b = statistics.median(results["before"].get(case, [float("nan")]))
        a = statistics.median(results["after"].get(case, [float("nan")]))
        print(f"| {case} | {b:.1f} | {a:.1f} | {a / b:.3f} |")


if __name__ == "__main__":
    main()
