#!/usr/bin/env python3
"""Turns futexbox_run_bench JSON (run with --benchmark_repetitions=N) into a Markdown table of
medians: per case, native, under futexbox run and under strace, with futexbox's time relative to
native and the time each adds to native (the targets compare added times).

Usage: futexbox_run_bench --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \\
         --benchmark_out=run.json --benchmark_out_format=json
       tests/bench/runner_report.py run.json
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pair_report import machine_line, medians  # noqa: E402


def fmt(ns: float) -> str:
    if ns < 10_000:
        return f"{ns:,.1f} ns"
    if ns < 10_000_000:
        return f"{ns / 1e3:,.1f} µs"
    return f"{ns / 1e6:,.1f} ms"


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        data = json.load(f)
    table = {case: {mode: ns for mode, (ns, _) in row.items()}
             for case, row in medians(data).items()}
    print("| case | native | futexbox run | strace -f -e trace=futex | futexbox / native | "
          "added by futexbox | added by strace | strace adds / futexbox adds |")
    print("|---|---|---|---|---|---|---|---|")
    for case, row in table.items():
        native, ours, strace = row.get("native"), row.get("futexbox_run"), row.get("strace")
        ratio = f"{ours / native:.3f}x" if native and ours else "—"
        added = ours - native if native and ours else None
        added_strace = strace - native if native and strace else None
        versus = (f"{added_strace / added:.1f}x" if added and added > 0 and added_strace
                  else ("futexbox adds nothing measurable" if added is not None and added <= 0
                        and added_strace else "—"))
        print(f"| {case} | {fmt(native) if native else '—'} | {fmt(ours) if ours else '—'} | "
              f"{fmt(strace) if strace else '—'} | {ratio} | "
              f"{fmt(added) if added is not None else '—'} | "
              f"{fmt(added_strace) if added_strace is not None else '—'} | {versus} |")
    traced = [(case, row) for case, row in table.items() if row.get("futexbox_trace")]
    if traced:
        # futexbox trace's targets: at most 10% on top of futexbox run, and at least 5x less
        # added time than strace.
        print("\n| case | futexbox run | futexbox trace | trace / run | added by trace | "
              "added by strace | strace adds / trace adds |")
        print("|---|---|---|---|---|---|---|")
        for case, row in traced:
            native, ours, trace, strace = (row.get("native"), row.get("futexbox_run"),
                                           row.get("futexbox_trace"), row.get("strace"))
            over_run = f"{trace / ours:.3f}x" if ours else "—"
            added = trace - native if native else None
            added_strace = strace - native if native and strace else None
            versus = (f"{added_strace / added:.1f}x" if added and added > 0 and added_strace
                      else "—")
            print(f"| {case} | {fmt(ours) if ours else '—'} | {fmt(trace)} | {over_run} | "
                  f"{fmt(added) if added is not None else '—'} | "
                  f"{fmt(added_strace) if added_strace is not None else '—'} | {versus} |")
    watched = [(case, row) for case, row in table.items()
               if row.get("futexbox_run_unwatched") and row.get("futexbox_run")]
    if watched:
        # futexbox run watches for deadlocks by default: what that costs over --on-deadlock=ignore.
        print("\n| case | futexbox run --on-deadlock=ignore | futexbox run (watching) | "
              "watching / not |")
        print("|---|---|---|---|")
        for case, row in watched:
            plain, ours = row["futexbox_run_unwatched"], row["futexbox_run"]
            print(f"| {case} | {fmt(plain)} | {fmt(ours)} | {ours / plain:.3f}x |")
    print("\n" + machine_line(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
