#!/usr/bin/env python3
"""Turns futexbox_bench JSON (run with --benchmark_repetitions=N) into a Markdown table of medians,
one row per case, one column per implementation, with each implementation's ratio to host_futex.

Usage: futexbox_bench --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \\
         --benchmark_out=bench.json --benchmark_out_format=json
       tests/bench/pair_report.py bench.json [baseline]
"""
import json
import sys
from collections import OrderedDict


def medians(data: dict) -> "OrderedDict[str, dict]":
    """The median of each Case/impl benchmark: case -> impl -> (ns, allocs_per_op)."""
    table = OrderedDict()
    for b in data["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        case, impl = b["run_name"].split("/")[:2]
        unit = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]]
        table.setdefault(case, {})[impl] = (b["real_time"] * unit, b.get("allocs_per_op", 0.0))
    return table


def machine_line(data: dict) -> str:
    """Where and when the figures were taken, from Google Benchmark's context."""
    ctx = data.get("context", {})
    return (f"{ctx.get('num_cpus')} CPUs at {ctx.get('mhz_per_cpu')} MHz, "
            f"load average {ctx.get('load_avg')}, {ctx.get('date')}")


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    baseline = sys.argv[2] if len(sys.argv) > 2 else "host_futex"
    with open(sys.argv[1]) as f:
        data = json.load(f)
    table = medians(data)  # case -> impl -> (ns, allocs)
    impls = []
    for row in table.values():
        impls += [i for i in row if i not in impls]
    known = ["sharded", "emulated", "host_futex", "std_atomic", "concurrent_map"]
    order = [i for i in known if i in impls] + [i for i in impls if i not in known]
    print("| case | " + " | ".join(order) + f" | futexbox vs {baseline} |")
    print("|---|" + "---|" * (len(order) + 1))
    for case, row in table.items():
        cells = []
        for impl in order:
            if impl not in row:
                cells.append("—")
                continue
            ns, allocs = row[impl]
            shown = f"{ns:,.1f} ns" if ns < 10_000 else f"{ns / 1000:,.1f} µs"
            cells.append(shown + (f" ({allocs:.2f} allocs)" if allocs else ""))
        ours = row.get("sharded") or row.get("emulated")
        base = row.get(baseline)
        ratio = f"{base[0] / ours[0]:.1f}x cheaper" if ours and base and base[0] >= ours[0] \
            else (f"{ours[0] / base[0]:.2f}x the time" if ours and base else "—")
        print(f"| {case} | " + " | ".join(cells) + f" | {ratio} |")
    print("\n" + machine_line(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
