"""`python -m bench`: run the benchmarks in order, each printing its own figures.

Missed targets never fail the run; a benchmark that crashes is reported and makes the exit status 1.
"""
from __future__ import annotations

import sys
import time
import traceback


def _benchmarks() -> list:
    from bench import ingest_bench

    benches = [ingest_bench]
    try:  # owned by another engineer; optional until it lands
        import bench.moderation_bench as moderation_bench
    except ImportError as exc:
        if exc.name != "bench.moderation_bench":
            raise
        print("bench.moderation_bench: not present, skipped\n")
    else:
        if callable(getattr(moderation_bench, "main", None)):
            benches.append(moderation_bench)
        else:
            print("bench.moderation_bench: no main(), skipped\n")
    return benches


def main() -> int:
    crashed = []
    for module in _benchmarks():
        name = module.__name__
        print(f"=== {name} ===", flush=True)
        started = time.perf_counter()
        try:
            module.main()
        except Exception:
            traceback.print_exc()
            crashed.append(name)
        print(f"=== {name}: {time.perf_counter() - started:.0f} s ===\n", flush=True)
    if crashed:
        print(f"crashed: {', '.join(crashed)}", file=sys.stderr)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
