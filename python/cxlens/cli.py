"""The ``cxlens`` command: ``cxlens report`` and ``cxlens simulate``.

``cxlens report INPUT --out DIR`` reads source tables (a folder or a ``cxlens.toml``), resolves
identities, builds the event log, runs the analyses and writes an HTML report with its tables.
``cxlens simulate --customers N --seed S --out DIR`` writes a simulated world as source tables
that ``cxlens report DIR`` reads as it is. See ``docs/guide/report.md``.

Exit codes: 0 done; 1 bad input data (a missing file or column, nothing usable left); 2 bad
usage or a malformed config. Errors go to stderr and name the file, config key and column,
never a cell's value.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence

__all__ = ["main"]

_EPILOG_REPORT = """\
INPUT is a cxlens.toml, a folder holding one, or a folder with an events table keyed by
customer (events.csv or events.parquet: customer, time, channel, event[, value ...]) and an
optional contact_points table.

exit codes: 0 done, 1 bad input data, 2 bad usage or config.
example:
  cxlens simulate --customers 20000 --seed 7 --out build/sample
  cxlens report build/sample --out build/demo-report
"""

_EPILOG_SIMULATE = """\
writes DIR/cxlens.toml, DIR/<system>_customers.* and DIR/<system>_events.* for the systems
crm, web_app, ecommerce, call_center and survey_tool, DIR/contact_points.*, and the ground
truth in DIR/_truth/ (never read by cxlens report).
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cxlens",
        description="See the customers a business cannot see: one customer view, journeys, "
                    "retention and an outreach plan from every channel's source tables.")
    from . import __version__
    parser.add_argument("--version", action="version", version=f"cxlens {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    report = sub.add_parser(
        "report", help="read source tables and write the customer-lens report",
        description="Reads source tables, resolves identities, builds the event log, runs "
                    "every analysis and writes DIR/index.html plus the tables.",
        epilog=_EPILOG_REPORT, formatter_class=argparse.RawDescriptionHelpFormatter)
    report.add_argument("input", metavar="INPUT", help="a cxlens.toml or a folder")
    report.add_argument("--out", metavar="DIR", default="cxlens-report",
                        help="folder for index.html and the tables (default: %(default)s)")
    report.add_argument("--threads", type=int, default=0, metavar="N",
                        help="worker threads (default 0: all cores)")
    report.add_argument("--inputs-only", action="store_true",
                        help="read and check the inputs, print the summary, skip the analyses")
    report.add_argument("--quiet", action="store_true", help="no progress lines")
    simulate = sub.add_parser(
        "simulate", help="write a simulated world as source tables",
        description="Simulates a multichannel world and writes it the way source systems "
                    "would export it, with a cxlens.toml, so `cxlens report DIR` reads it.",
        epilog=_EPILOG_SIMULATE, formatter_class=argparse.RawDescriptionHelpFormatter)
    simulate.add_argument("--customers", type=int, default=20_000, metavar="N",
                          help="people to simulate (default: %(default)s)")
    simulate.add_argument("--seed", type=int, default=7, metavar="S",
                          help="random seed (default: %(default)s)")
    simulate.add_argument("--out", metavar="DIR", required=True, help="folder to write")
    simulate.add_argument("--format", choices=("csv", "parquet"), default="csv",
                          help="table format (default: %(default)s)")
    simulate.add_argument("--threads", type=int, default=0, metavar="N",
                          help="worker threads (default 0: all cores)")
    return parser


def _say(*lines: str) -> None:
    for line in lines:
        print(line, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the ``cxlens`` command line; returns the exit code (0 ok, 1 input, 2 usage)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse exits 2 on usage errors, 0 on --help
        return int(stop.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if getattr(args, "threads", 0) < 0:
        _say("cxlens: error: --threads must be 0 or more")
        return 2
    from ._core import Error
    from .report.config import ConfigError, InputError
    try:
        import pyarrow  # noqa: F401 - every source table is read with pyarrow
    except ImportError:
        _say("cxlens: error: the cxlens command needs pyarrow: pip install 'cxlens[report]'")
        return 2
    try:
        if args.command == "simulate":
            return _simulate(args)
        return _report(args)
    except ConfigError as error:
        _say(f"cxlens: config error: {error}")
        return 2
    except (InputError, Error, OSError) as error:
        _say(f"cxlens: input error: {error}")
        return 1


def _simulate(args: argparse.Namespace) -> int:
    from .report.sample import write_world
    if args.customers < 1:
        _say("cxlens: error: --customers must be at least 1")
        return 2
    started = time.perf_counter()
    _say(f"cxlens simulate: {args.customers:,} customers, seed {args.seed} -> {args.out}")
    counts = write_world(args.out, args.customers, args.seed, fmt=args.format,
                         threads=args.threads)
    records = sum(counts["records"].values())
    events = sum(counts["events"].values())
    _say(f"  wrote {records:,} customer records and {events:,} events in "
         f"{len(counts['records'])} systems, {counts['contact_points']:,} contact points "
         f"({time.perf_counter() - started:.1f} s)",
         f"  config: {Path(args.out) / 'cxlens.toml'}; truth (not read by report): "
         f"{Path(args.out) / '_truth'}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from .report._contract import Stages
    from .report.inputs import load_inputs
    stages = Stages(quiet=args.quiet)
    started = time.perf_counter()
    _say(f"cxlens report: {args.input}")
    inputs = load_inputs(args.input, stages=stages, threads=args.threads)
    out = Path(args.out)
    html = None
    lines: list[str] = []
    if not args.inputs_only:
        try:
            from .report.analyses import build_report
            from .report.html import write_report
        except ImportError:
            _say("  (the analyses and HTML writer are not in this build: only the inputs were "
                 "read; see --inputs-only)")
        else:
            report = build_report(inputs, stages=stages, threads=args.threads)
            with stages("write report"):
                html = write_report(report, out)
            lines = list(report.summary_lines())
    _say("", *summary_lines(inputs, stages, time.perf_counter() - started, html), *lines)
    return 0


def summary_lines(inputs, stages, seconds: float, html: Path | None) -> list[str]:
    """The terminal summary of a run: customers, events, rows per source, notes, stage times,
    peak memory and where the report is."""
    log = inputs.event_log
    lines = [f"customers: {log.n_customers:,}   events: {len(log):,}"]
    if inputs.identity:
        lines.append(f"identity: {inputs.identity['records']:,} records -> "
                     f"{inputs.identity['customers']:,} customers")
    lines.append("sources (rows read / accepted / rejected):")
    for row in inputs.sources.itertuples():
        reasons = f"  [{row.rejections}]" if row.rejections else ""
        lines.append(f"  {row.source:<24} {row.rows_read:>12,} {row.rows_accepted:>12,} "
                     f"{row.rows_rejected:>10,}{reasons}")
    for note in inputs.notes:
        if note.level != "info":
            lines.append(f"{note.level}: {note.message}")
    table = stages.table()
    if len(table):
        lines.append("stages (wall s / cpu s): " + ", ".join(
            f"{r.name} {r.seconds:.1f}/{r.cpu_seconds:.1f}" for r in table.itertuples()))
        lines.append(f"total {seconds:.1f} s, peak memory {table.peak_rss_mb.max():,.0f} MB")
    lines.append(f"report: {html}" if html is not None else
                 "report: not written (inputs only)")
    return lines


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
