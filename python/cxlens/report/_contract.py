"""The hand-over between the two halves of ``cxlens report``.

The input half (:mod:`cxlens.report.inputs`, :mod:`cxlens.cli`) reads source tables, maps them
to the model, resolves identities and builds a :class:`ReportInputs`. The output half
(:mod:`cxlens.report.analyses`, :mod:`cxlens.report.html`) runs every analysis on it and writes
the report. Either half can be used alone: a notebook can build :class:`ReportInputs` from a
simulated world or its own :class:`~cxlens.EventLog` and call the output half directly.
"""

from __future__ import annotations

import resource
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator, Literal

import pandas as pd

from ..store import EventLog

__all__ = ["Note", "ReportInputs", "Stage", "Stages"]


@dataclass(frozen=True)
class Note:
    """One thing the report could or could not do, said to the reader (never a cell's value).

    ``level`` is ``"info"`` (done, worth knowing), ``"warning"`` (done with a limitation) or
    ``"skipped"`` (not done, and why); ``stage`` names the step ("read crm_customers.csv",
    "retention"); ``message`` is one or two plain sentences naming file and column where it can.
    """

    level: Literal["info", "warning", "skipped"]
    stage: str
    message: str


@dataclass
class ReportInputs:
    """Everything the analyses need, already mapped to the model and resolved to customers.

    Attributes:
        event_log: every event of every source, keyed by resolved customer, finalized.
        contact_points: one row per customer and channel with columns ``customer`` (the same
            keys as ``event_log.customers``), ``channel``, ``consent`` (``granted``,
            ``withdrawn`` or ``unknown``) and ``consent_time``; may be empty (then no contact
            is proposed: consent is never assumed).
        customers: one row per resolved customer (``customer`` plus the golden attributes
            the report may use, e.g. ``created_at``); may be empty.
        window_start, window_end: the observation window (``window_end`` exclusive); ``None``
            means "from the first event" / "up to the last event".
        sources: one row per source table read: ``source``, ``path``, ``role`` (``records`` or
            ``events``), ``rows_read``, ``rows_accepted``, ``rows_rejected``, ``rejections``
            (reason -> count, as text).
        notes: what the input half could and could not do.
        settings: the config's ``[report]`` table as given (options of the output half).
        identity: a summary of identity resolution (records, customers, links, clusters cut),
            empty when the input was already keyed by customer.
    """

    event_log: EventLog
    contact_points: pd.DataFrame = field(default_factory=pd.DataFrame)
    customers: pd.DataFrame = field(default_factory=pd.DataFrame)
    window_start: pd.Timestamp | None = None
    window_end: pd.Timestamp | None = None
    sources: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[Note] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    identity: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Stage:
    """One timed step: wall seconds, CPU seconds, and the process's peak memory after it."""

    name: str
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


@dataclass
class Stages:
    """Times the steps of a run and says each one on the terminal (stderr) as it finishes.

    Use ``with stages("retention"): ...``; ``stages.table()`` gives the timings as a DataFrame
    for the report and the terminal summary. ``quiet=True`` records without printing.
    """

    quiet: bool = False
    done: list[Stage] = field(default_factory=list)

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        if not self.quiet:
            print(f"  {name} ...", end="", file=sys.stderr, flush=True)
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            stage = Stage(name, time.perf_counter() - wall, time.process_time() - cpu,
                          _peak_rss_mb())
            self.done.append(stage)
            if not self.quiet:
                print(f" {stage.seconds:.1f} s (peak {stage.peak_rss_mb:,.0f} MB)",
                      file=sys.stderr, flush=True)

    def table(self) -> pd.DataFrame:
        """The recorded stages: name, seconds, cpu_seconds, peak_rss_mb."""
        return pd.DataFrame([vars(s) for s in self.done],
                            columns=["name", "seconds", "cpu_seconds", "peak_rss_mb"])
