"""Times the output half of ``cxlens report`` (build_report + write_report) on a simulated world.

    python bench/bench_report_output.py [--customers 1000000] [--seed 7] [--threads 0] [--out DIR]

Prints each stage's wall and CPU seconds and the peak memory (Stages), the load average before
and after, and the report's summary lines. The simulation itself is not timed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import cxlens
from cxlens.report import ReportInputs, Stages, build_report, write_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    t = time.perf_counter()
    world = cxlens.simulate(args.customers, seed=args.seed, source_records=False)
    print(f"{world} simulated in {time.perf_counter() - t:.1f} s; load {os.getloadavg()}")
    inputs = ReportInputs(event_log=world.event_log, contact_points=world.contact_points)
    del world
    stages = Stages()
    wall, cpu = time.perf_counter(), time.process_time()
    report = build_report(inputs, stages=stages, threads=args.threads)
    out = args.out or Path(tempfile.mkdtemp(prefix="cxlens-report-"))
    with stages("write report"):
        path = write_report(report, out)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    table = stages.table()
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(f"build_report + write_report: {wall:.1f} s wall, {cpu:.1f} s CPU, peak "
          f"{table['peak_rss_mb'].max():,.0f} MB; load {os.getloadavg()}")
    print(f"html {path.stat().st_size / 1e6:.2f} MB at {path}")
    for line in report.summary_lines():
        print(" ", line)


if __name__ == "__main__":
    main()
