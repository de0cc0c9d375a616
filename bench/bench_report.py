"""Times `cxlens report` end to end on a simulated world (issue 9).

    python bench/bench_report.py [--customers 1000000] [--seed 7] [--format parquet]
                                 [--world build/bench-report-world] [--inputs-only]

Writes the world once with `cxlens simulate` (kept and reused when its cxlens.toml exists),
then runs `cxlens report WORLD --out build/bench-report` in a child process and prints the
command's own summary (seconds and CPU seconds per stage, peak memory), the child's wall time,
CPU time and peak RSS (`ru_maxrss` of the child), and the machine's load. Until the analyses
half of `cxlens report` is in the build, only the input half runs (the summary says so).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--format", choices=("csv", "parquet"), default="parquet")
    parser.add_argument("--world", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("build/bench-report"))
    parser.add_argument("--inputs-only", action="store_true")
    parser.add_argument("--fresh", action="store_true", help="re-simulate even if present")
    args = parser.parse_args()
    world = args.world or Path(f"build/bench-report-world-{args.customers}-{args.seed}-"
                               f"{args.format}")
    cli = [sys.executable, "-m", "cxlens.cli"]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; load average {os.getloadavg()}")
    if args.fresh and world.exists():
        shutil.rmtree(world)
    simulated = False
    if not (world / "cxlens.toml").exists():
        simulated = True
        started = time.perf_counter()
        subprocess.run(cli + ["simulate", "--customers", str(args.customers), "--seed",
                              str(args.seed), "--format", args.format, "--out", str(world)],
                       check=True)
        print(f"simulate: {time.perf_counter() - started:.1f} s (not part of the report time)")
    command = cli + ["report", str(world), "--out", str(args.out)]
    if args.inputs_only:
        command.append("--inputs-only")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"\ncxlens report end to end: {wall:.1f} s wall, {cpu:.1f} s CPU, peak RSS "
          f"{after.ru_maxrss / 1024:,.0f} MB"
          f"{' (max with the simulate child)' if simulated else ''}; "
          f"exit {done.returncode}; "
          f"load average after {os.getloadavg()}")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
