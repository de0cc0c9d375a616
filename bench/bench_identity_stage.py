"""Times the identity stage of `cxlens report` (issue 9) on a simulated world, by part.

    python bench/bench_identity_stage.py WORLD [--threads N]

WORLD is a folder `cxlens simulate --format parquet` wrote (with its cxlens.toml). Runs only
the records half of `load_inputs` (read the records tables, `cxlens.identity.resolve`, lineage
lookups, created-at) and prints CPU and wall seconds of each part and the peak RSS of this
process. Run one size per process: the peak is the process's.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import cxlens.identity as identity
from cxlens import _core
from cxlens.report import inputs
from cxlens.report._contract import Stages

PARTS: dict[str, list[float]] = {}


@contextmanager
def timed(name: str):
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        yield
    finally:
        entry = PARTS.setdefault(name, [0.0, 0.0])
        entry[0] += time.process_time() - cpu
        entry[1] += time.perf_counter() - wall


def wrap(owner, name: str, label: str) -> None:
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        with timed(label):
            return original(*args, **kwargs)

    setattr(owner, name, wrapper)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("world", type=Path)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--save", type=Path, default=None,
                        help="write the lineage and golden records here (Parquet), to compare "
                             "two builds")
    args = parser.parse_args()
    wrap(inputs._Table, "read_all", "read records tables (Arrow -> pandas)")
    wrap(identity, "_source_tables", "identity: columns to native")
    wrap(_core, "identity_resolve", "identity: native resolve")
    wrap(identity, "_finish", "identity: golden records + lineage frames")
    config = inputs._config(args.world)
    loader = inputs._Loader(config, Stages(quiet=True), args.threads)
    records = [s for s in config.sources if s.role == "records"]
    tables = {s.name: loader.open(s) for s in records}
    cpu, wall = time.process_time(), time.perf_counter()
    loader.resolve(records, tables)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.world}: {loader.identity['records']:,} records -> "
          f"{loader.identity['customers']:,} customers; load average {os.getloadavg()}")
    for name, (c, w) in PARTS.items():
        print(f"  {name:45s} {c:7.2f} CPU s {w:7.2f} wall s")
    print(f"  {'identity stage total':45s} {cpu:7.2f} CPU s {wall:7.2f} wall s; "
          f"peak RSS {peak:,.0f} MB")
    if args.save is not None:
        args.save.mkdir(parents=True, exist_ok=True)
        loader.identity["lineage"].to_parquet(args.save / "lineage.parquet")
        loader.customers.astype({c: "string" for c in loader.customers.columns
                                 if loader.customers[c].dtype == object}).to_parquet(
            args.save / "customers.parquet")
    return 0


if __name__ == "__main__":
    sys.exit(main())
