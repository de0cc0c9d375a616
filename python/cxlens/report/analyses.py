"""The analyses of ``cxlens report``: every area's analysis on one :class:`ReportInputs`.

:func:`build_report` runs each analysis in its own timed stage through the areas' public APIs
(:mod:`cxlens.retention`, :mod:`cxlens.survival`, :mod:`cxlens.journey`, :mod:`cxlens.insight`,
:mod:`cxlens.engage`) and collects the results into a :class:`Report`: sections (what each shows,
the data and window it used, figures as inline SVG, table names), tables, notes and stage
timings. An analysis that cannot run on the inputs adds a ``skipped`` :class:`Note` saying why
and the report goes on; a limitation adds a ``warning``. Nothing is skipped silently.
:func:`cxlens.report.html.write_report` writes the result.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from .. import engage, insight, journey, retention, survival
from .._core import Error as _CxlensError
from ._contract import Note, ReportInputs, Stages
from .options import ReportOptions

__all__ = ["Figure", "Report", "Section", "SECTION_IDS", "build_report"]

#: Section ids in report order (also the HTML anchors).
SECTION_IDS = (
    "overview", "dark_matter", "channel_shift", "customer_base", "cohorts", "journeys",
    "attribution", "offering_dimensions", "engagement", "profitability", "feedback", "service",
    "at_risk", "outreach",
)


@dataclass
class Figure:
    """One figure: a title, a caption saying what data and window it used, and inline SVG."""

    title: str
    caption: str
    svg: str


@dataclass
class Section:
    """One section of the report.

    Attributes:
        id: anchor (one of :data:`SECTION_IDS`).
        title: heading.
        shows: what the section shows, in a sentence or two.
        data: the data and window it used (filled in when the analysis ran).
        status: ``"done"``, ``"warning"`` (done with a limitation) or ``"skipped"``.
        numbers: headline numbers (name -> value) shown as a small list.
        figures: figures (inline SVG).
        tables: names of :attr:`Report.tables` belonging to the section, in display order.
        notes: the notes of this section (also in :attr:`Report.notes`).
        used: the analyses' own account of the inputs they used (their ``used`` lists).
    """

    id: str
    title: str
    shows: str
    data: str = ""
    status: str = "done"
    numbers: dict[str, Any] = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    used: list[str] = field(default_factory=list)


@dataclass
class Report:
    """A finished report: sections in order, tables by name, notes, stage timings and a summary
    of the inputs (customers, events, window, channels, sources, identity, whether customer
    keys were hashed).

    ``options`` are the :class:`ReportOptions` used; ``summary_lines()`` gives a few lines for
    the terminal.
    """

    sections: list[Section]
    tables: dict[str, pd.DataFrame]
    notes: list[Note]
    stages: Stages
    inputs_summary: dict[str, Any]
    options: ReportOptions

    def section(self, id: str) -> Section:
        """The section with this id (KeyError-like :class:`cxlens.NotFound` if absent)."""
        for s in self.sections:
            if s.id == id:
                return s
        from .._core import NotFound
        raise NotFound(f"the report has no section {id!r}")

    def summary_lines(self) -> list[str]:
        """A few lines for the terminal: customers, events, window, dark matter, value at risk,
        contacts planned, and how many analyses were skipped."""
        s = self.inputs_summary
        lines = [f"{s['customers']:,} customers, {s['events']:,} events, "
                 f"{s['channels']} channels, window {s['window']}"]
        dark = self.section("dark_matter").numbers
        if "share_invisible" in dark:
            lines.append("dark matter: " + ", ".join(
                f"{share:.1%} of active customers invisible to {channel}"
                for channel, share in dark["share_invisible"].items()))
        health = self.section("customer_base").numbers
        if "total_clv" in health:
            lines.append(f"customer base: mean P(alive) {health['mean_p_alive']:.2f}, "
                         f"CLV {health['total_clv']:,.0f} over {self.options.clv_months} months")
        risk = self.section("at_risk").numbers
        if "value_at_risk" in risk:
            lines.append(f"value at risk: {risk['value_at_risk']:,.0f} "
                         f"(churn within {self.options.horizon_days:g} days x CLV)")
        plan = self.section("outreach").numbers
        if "contacts" in plan:
            lines.append(f"outreach: {plan['contacts']:,} contacts planned for "
                         f"{plan['customers_planned']:,} customers")
        skipped = [n for n in self.notes if n.level == "skipped"]
        warned = [n for n in self.notes if n.level == "warning"]
        lines.append(f"{len(skipped)} analyses or parts skipped, {len(warned)} warnings "
                     "(see the report's notes)")
        return lines


class _Skip(Exception):
    """Raised inside a section: the analysis cannot run on these inputs (message says why)."""


# ---- figures -----------------------------------------------------------------------------

_FIGURE_COUNTER = [0]


def _svg(fig: Any, key: str) -> str:
    """The figure as SVG text fit for inlining in HTML: no XML prolog, DOCTYPE, metadata or
    namespace URLs; element ids salted by ``key`` so figures never share ids."""
    import re

    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": key}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", text)
    return text


class _Figures:
    """Makes figures with the Agg backend (or notes that matplotlib is missing)."""

    def __init__(self, enabled: bool = True) -> None:
        self.plt: Any = None
        if not enabled:
            return
        try:
            import matplotlib

            matplotlib.use("Agg", force=True)
            import matplotlib.pyplot as plt

            self.plt: Any = plt
        except ImportError:  # pragma: no cover - depends on the environment
            self.plt = None

    def make(self, section: Section, key: str, title: str, caption: str,
             draw: Callable[[Any], Any], size: tuple[float, float] = (7.5, 4.0)) -> None:
        if self.plt is None:  # pragma: no cover
            return
        if section.data and section.data not in caption:
            # Every figure says what data and window it used.
            caption = f"{caption} Data and window: {section.data}."
        fig, ax = self.plt.subplots(figsize=size)
        try:
            draw(ax)
            fig.tight_layout()
            section.figures.append(Figure(title, caption, _svg(fig, f"{section.id}-{key}")))
        finally:
            self.plt.close(fig)


# ---- helpers -----------------------------------------------------------------------------

def _stamp(value: Any) -> pd.Timestamp | None:
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    if stamp is pd.NaT:
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _day(stamp: pd.Timestamp | None) -> str:
    if stamp is None:
        return "-"
    if stamp == stamp.normalize():
        return str(stamp.date())
    return stamp.strftime("%Y-%m-%d %H:%M UTC")


class _Context:
    """What every section needs: inputs, options, the window, and results of earlier ones."""

    def __init__(self, inputs: ReportInputs, options: ReportOptions, threads: int) -> None:
        self.inputs = inputs
        self.log = inputs.event_log
        self.options = options
        self.threads = threads
        # Survival's functions read 0 threads as one; the report's 0 means every core.
        self.all_threads = threads if threads > 0 else (os.cpu_count() or 1)
        self.tables: dict[str, pd.DataFrame] = {}
        self.figures = _Figures(options.figures)
        log = self.log
        n = log.n_events
        self.first = _stamp(int(log.time_ns.min())) if n else None
        self.last = _stamp(int(log.time_ns.max())) if n else None
        self.start = _stamp(inputs.window_start)
        self.end_given = _stamp(inputs.window_end)
        self.window = (self.start, self.end_given)
        # The as-of time: the window's end (exclusive), else just after the last event.
        if self.end_given is not None:
            self.end = self.end_given
        elif self.last is not None:
            self.end = self.last + pd.Timedelta(1, "ns")
        else:
            self.end = None
        points = inputs.contact_points
        self.points = points if isinstance(points, pd.DataFrame) and len(points) else None
        self.channel_names = list(log.channels["channel"])
        # Results shared between sections (per customer, aligned to log.customers).
        self.clv: pd.Series | None = None
        self.p_alive: pd.Series | None = None
        self.risk: pd.Series | None = None
        self.preferred: pd.Series | None = None
        self.offer: pd.DataFrame | None = None
        self.sections: dict[str, Section] = {}

    def window_text(self) -> str:
        first = self.start or self.first
        return f"{_day(first)} to {_day(self.end)} (end exclusive)"

    def table(self, section: Section, name: str, frame: pd.DataFrame) -> None:
        self.tables[name] = frame
        section.tables.append(name)


def _note(section: Section, level: str, message: str) -> None:
    section.notes.append(Note(level, section.title, message))  # type: ignore[arg-type]
    if level == "skipped":
        section.status = "skipped"
    elif level == "warning" and section.status == "done":
        section.status = "warning"


@dataclass
class _Spec:
    id: str
    title: str
    shows: str
    run: Callable[[_Context, Section], None]


# ---- sections ----------------------------------------------------------------------------

def _overview(ctx: _Context, section: Section) -> None:
    log = ctx.log
    section.data = f"every event of the event log; window {ctx.window_text()}"
    section.numbers.update(customers=log.n_customers, events=log.n_events,
                           channels=len(ctx.channel_names),
                           contact_points=0 if ctx.points is None else len(ctx.points))
    if log.n_events == 0:
        _note(section, "skipped", "the event log holds no events: no analysis can run")
        return
    # The log summary's cost prices every event (purchases and message opens included) at the
    # channel's cost per contact; the report's cost is the profitability section's cost to
    # serve, so that column is left out here rather than shown with a second meaning.
    ctx.table(section, "channels", log.summary().reset_index().drop(columns=["cost"],
                                                                   errors="ignore"))
    section.data += "; cost to serve per channel: see Profitability"
    resolved = (ctx.inputs.identity or {}).get("customers")
    if isinstance(resolved, (int, np.integer)) and resolved > log.n_customers:
        _note(section, "info", f"{int(resolved) - log.n_customers:,} of the {int(resolved):,} "
              "customers found by identity resolution have no event and are in no analysis")
    sources = ctx.inputs.sources
    if isinstance(sources, pd.DataFrame) and len(sources):
        ctx.table(section, "sources", sources.reset_index(drop=True))
    rejections = log.rejections
    if rejections.rows_rejected:
        ctx.table(section, "event_log_rejections", rejections.to_pandas())
        _note(section, "warning", f"{rejections.rows_rejected:,} event rows were rejected when "
              "the event log was built (see the table event_log_rejections)")
    if ctx.points is None:
        _note(section, "warning", "no contact points were given: consent is unknown, so "
              "reachability is unknown and no outreach is planned")
    if ctx.start is not None and ctx.first is not None and ctx.start > ctx.first:
        _note(section, "info", "events before the window's start are used as history (for "
              "recency, tenure and visibility), not counted as activity in the window")


def _dark_matter(ctx: _Context, section: Section) -> None:
    o = ctx.options
    result = insight.dark_matter(
        ctx.log, ctx.points, channels=list(o.dark_matter_channels) or None, window=ctx.window,
        lookback_weeks=o.dark_matter_lookback_weeks, period_weeks=o.period_weeks, clv=ctx.clv,
        threads=ctx.threads)
    section.used = result.used
    summary = result.summary
    active_in = f"{_day(result.window[0])} to {_day(result.window[1])}"
    section.data = (f"customers active (a purchase or digital session) in {active_in}; "
                    f"interactions "
                    f"{'ever' if not o.dark_matter_lookback_weeks else f'in the last {o.dark_matter_lookback_weeks:g} weeks'}"
                    f" and consented contact points per channel")
    section.numbers["share_invisible"] = summary["share"].to_dict()
    section.numbers["active"] = int(summary["active"].iloc[0]) if len(summary) else 0
    ctx.table(section, "dark_matter", summary.reset_index())
    ctx.table(section, "dark_matter_over_time", result.over_time)
    if ctx.points is None:
        _note(section, "warning", "without contact points consent is unknown: visibility "
              "comes from interactions alone")
    if ctx.clv is None:
        _note(section, "info", "no CLV was available, so the CLV of the invisible is unknown")

    def draw(ax: Any) -> None:
        ax.barh(summary.index.astype(str), summary["share"], color="tab:purple")
        ax.set_xlabel("share of active customers invisible to the channel")
        ax.set_xlim(0, 1)
        ax.set_title("Dark matter per channel")
    ctx.figures.make(section, "share", "Dark matter per channel",
                     f"Share of customers active in {active_in} "
                     "with no interaction and no consented contact point in the channel.", draw,
                     (7.5, 1.5 + 0.4 * len(summary)))
    if len(result.over_time):
        ctx.figures.make(section, "over_time", "Dark matter over time",
                         f"Share invisible per {o.period_weeks:g}-week period, per channel.",
                         lambda ax: result.plot(ax))


def _channel_shift(ctx: _Context, section: Section) -> None:
    o = ctx.options
    missing = [c for c in o.adoption_channels if c not in ctx.channel_names]
    if missing:
        raise _Skip(f"the data has no adoption channel {missing[0]!r} (set [report] "
                    "adoption_channels)")
    if len(ctx.channel_names) < 2:
        raise _Skip("the data has a single channel: there is no shift between channels")
    result = insight.channel_shift(ctx.log, adoption_channels=list(o.adoption_channels),
                                   contact_kinds=list(o.contact_kinds), replicates=o.replicates,
                                   seed=o.seed, confidence=o.confidence, threads=ctx.threads)
    section.used = result.used
    section.data = (f"each adopter's {result.pre_weeks:g} weeks before and {result.post_weeks:g} "
                    f"weeks from adopting {', '.join(o.adoption_channels)} ({result.design} "
                    f"design), assisted contacts of kind {', '.join(o.contact_kinds)}; "
                    f"decomposition windows {_day(result.pre[0])} to {_day(result.pre[1])} and "
                    f"{_day(result.post[0])} to {_day(result.post[1])}")
    estimates = result.estimates
    section.numbers.update(effect=float(estimates.loc["effect", "value"]),
                           effect_lower=float(estimates.loc["effect", "lower"]),
                           effect_upper=float(estimates.loc["effect", "upper"]))
    ctx.table(section, "channel_shift", estimates.reset_index(names="estimate"))
    ctx.table(section, "channel_shift_rates", result.rates.reset_index())
    ctx.table(section, "channel_shift_groups", result.groups.rename_axis("group").reset_index())
    if not np.isfinite(result.effect):
        _note(section, "warning", "the effect is unknown: too few adopters or controls "
              "observed before and after adoption")
    if not result.decomposition_known:
        _note(section, "warning", "the substitution / new-demand split is unknown: adoption "
              "leaves no week of data before or after")
    else:
        ctx.table(section, "channel_shift_decomposition", result.decomposition.reset_index())
    ctx.figures.make(section, "did", "Channel shift", "Assisted contacts per customer-week of "
                     "adopters and controls before and after adoption; "
                     f"{o.confidence:.0%} bootstrap interval in the title.",
                     lambda ax: result.plot(ax))


def _customer_base(ctx: _Context, section: Section) -> None:
    o = ctx.options
    log = ctx.log
    summary = retention.rfm(log, o.freq, observation_end=ctx.end - pd.Timedelta(1, "ns"))
    unit = {"D": "days", "W": "weeks"}[o.freq]
    section.data = (f"purchases up to {_day(ctx.end)}; recency and age in {unit}; CLV over "
                    f"{o.clv_months} months at {o.discount_rate:.1%} a month")
    without = int(summary.attrs.get("customers_without_purchases", 0))
    if len(summary) == 0:
        raise _Skip("no customer has a purchase: no retention model can be fitted")
    if len(summary) < max(o.min_customers, 1):
        raise _Skip(f"only {len(summary):,} customers have a purchase (fewer than "
                    f"min_customers = {o.min_customers}): too few for a retention fit")
    f = summary["frequency"].to_numpy()
    r = summary["recency"].to_numpy()
    T = summary["T"].to_numpy()
    m = summary["monetary_value"].to_numpy()
    model = retention.BgNbd.fit(summary)
    if not _fit_usable(model.fit_result, section, "BG/NBD"):
        raise _Skip(f"the BG/NBD fit did not converge ({model.fit_result.reason})")
    horizon = o.horizon_days / (7.0 if o.freq == "W" else 1.0)
    p_alive = model.probability_alive(f, r, T, threads=ctx.threads)
    expected = model.conditional_expected_purchases(horizon, f, r, T, threads=ctx.threads)
    scores = pd.DataFrame({"frequency": f, "recency": r, "T": T, "monetary_value": m,
                           "p_alive": p_alive, f"expected_purchases_{o.horizon_days:g}d": expected},
                          index=summary.index)
    ctx.table(section, "retention_model", model.fit_result.summary.reset_index(names="parameter"))
    repeat = (f > 0) & (m > 0)
    clv = np.full(len(f), np.nan)
    if repeat.sum() < max(o.min_customers, 1):
        _note(section, "warning", f"only {int(repeat.sum()):,} repeat buyers: too few for the "
              "spend model, so CLV is unknown")
    else:
        spend = retention.GammaGamma.fit(f[repeat], m[repeat])
        if not _fit_usable(spend.fit_result, section, "Gamma-Gamma spend"):
            _note(section, "warning", "the Gamma-Gamma spend fit did not converge "
                  f"({spend.fit_result.reason}): CLV is unknown")
        else:
            # One-time buyers have no repeat spend (monetary value 0): their expected spend is
            # the population mean, which the model gives for frequency 0.
            clv = spend.customer_lifetime_value(model, f, r, T, m, months=o.clv_months,
                                                discount_rate=o.discount_rate, freq=o.freq,
                                                threads=ctx.threads)
            ctx.table(section, "spend_model",
                      spend.fit_result.summary.reset_index(names="parameter"))
    scores["clv"] = clv
    ctx.tables["customer_scores"] = scores
    section.tables.append("customer_scores")
    ctx.p_alive = scores["p_alive"]
    if np.isfinite(clv).any():
        ctx.clv = scores["clv"]
    section.numbers.update(customers_scored=len(scores), customers_without_purchases=without,
                           mean_p_alive=float(np.mean(p_alive)),
                           share_p_alive_below_half=float(np.mean(p_alive < 0.5)))
    if np.isfinite(clv).any():
        section.numbers["total_clv"] = float(np.nansum(clv))
    if without:
        _note(section, "info", f"{without:,} customers without a purchase have no P(alive) or "
              "CLV (unknown, not zero)")
    bins = np.linspace(0, 1, 21)
    counts, _ = np.histogram(p_alive, bins=bins)

    def draw_alive(ax: Any) -> None:
        ax.bar(bins[:-1], counts, width=0.05, align="edge", color="tab:green")
        ax.set_xlabel("P(alive) (BG/NBD)")
        ax.set_ylabel("customers")
        ax.set_title(f"P(alive) of {len(scores):,} customers with a purchase")
    ctx.figures.make(section, "p_alive", "P(alive) distribution",
                     f"BG/NBD P(alive) at {_day(ctx.end)} of customers with a purchase.",
                     draw_alive)
    finite = clv[np.isfinite(clv)]
    if len(finite):
        top = float(np.quantile(finite, 0.99))
        edges = np.linspace(0, max(top, 1e-9), 41)
        hist, _ = np.histogram(np.clip(finite, 0, top), bins=edges)

        def draw_clv(ax: Any) -> None:
            ax.bar(edges[:-1], hist, width=np.diff(edges), align="edge", color="tab:blue")
            ax.set_xlabel(f"{o.clv_months}-month CLV (top 1% clipped into the last bar)")
            ax.set_ylabel("customers")
            ax.set_title(f"CLV: total {np.sum(finite):,.0f}")
        ctx.figures.make(section, "clv", "CLV distribution",
                         f"BG/NBD x Gamma-Gamma CLV over {o.clv_months} months, from purchases "
                         f"up to {_day(ctx.end)}.", draw_clv)


def _cohorts(ctx: _Context, section: Section) -> None:
    o = ctx.options
    table = survival.cohort_retention(ctx.log, "behavioural", period=o.cohort_period,
                                      end=ctx.end, rates=True, threads=ctx.all_threads)
    section.data = (f"first activity (any event but messages sent) defines the cohort; "
                    f"activity per {o.cohort_period} up to {_day(ctx.end)}")
    if len(table) == 0:
        raise _Skip("no activity events: no cohort to follow")
    frame = table.copy()
    frame.columns = [str(c) for c in frame.columns]
    ctx.table(section, "cohort_retention", frame.reset_index())
    section.numbers["cohorts"] = len(table)
    if 1 in table.columns:
        section.numbers["mean_retained_after_1"] = float(np.nanmean(
            table[1].to_numpy(dtype=float))) if table[1].notna().any() else float("nan")
    shown = table.iloc[-24:, : 26]
    if len(table) > 24:
        _note(section, "info", f"the heatmap shows the last 24 of {len(table)} cohorts (the "
              "table has all)")
    ctx.figures.make(section, "heatmap", "Cohort retention",
                     f"Share of each {o.cohort_period}'s new customers active n "
                     f"{o.cohort_period}s later, up to {_day(ctx.end)}.",
                     lambda ax: survival.plot_cohort_heatmap(shown, ax=ax),
                     (min(2 + 0.45 * shown.shape[1], 14), 1.5 + 0.3 * len(shown)))


def _fit_usable(fit: Any, section: Section, name: str) -> bool:
    """Whether a retention fit's estimates can be used: it converged. A fit whose objective
    reached the limit of double precision with its gradient below the acceptable tolerance
    counts as converged in cxlens.retention (its reason says so); the report notes it."""
    if fit.converged and "precision limit" in str(fit.reason):
        _note(section, "info", f"the {name} fit stopped at the precision limit of its objective "
              f"with gradient {float(fit.gradient_norm):.1e}, below the acceptable tolerance: "
              "its estimates are at the optimum to double precision")
    return bool(fit.converged)


def _in_days(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every ``*_seconds`` column as ``*_days`` (a business reads days)."""
    out = frame.copy()
    for column in [c for c in out.columns if str(c).endswith("_seconds")]:
        out[column] = out[column] / 86400.0
        out = out.rename(columns={column: str(column)[:-len("_seconds")] + "_days"})
    return out


def _journeys(ctx: _Context, section: Section) -> None:
    o = ctx.options
    log = ctx.log
    kinds = set(log.event_types["kind"])
    goal = o.journey_goal if o.journey_goal in kinds else None
    # The goal event is a step: a purchase in the store ends its journey with "store", so a
    # journey that is only a purchase shows as that channel (not as an empty path) and the
    # graph counts every event of each channel.
    j = journey.journeys(log, key="channel", gap=pd.Timedelta(days=o.journey_gap_days),
                         goal=goal, goal_as_step=True)
    ctx.journeys = j  # type: ignore[attr-defined]
    section.data = (f"every customer's events by channel, cut at {o.journey_gap_days:g}-day "
                    "gaps" + (f" and after each {goal} (the {goal} is the journey's last step, "
                              "in its channel)" if goal else "")
                    + "; all events of the log; times in days")
    if goal is None:
        _note(section, "warning", f"the data has no {o.journey_goal!r} events: journeys are cut "
              "at gaps only and none converts")
    if len(j) == 0:
        raise _Skip("no journey could be built (no events)")
    report = j.report
    section.numbers.update(journeys=report["journeys"], converted=report["converted"])
    many = j.variants(top=max(o.top_paths, 200))
    variants = _in_days(many.head(o.top_paths).drop(columns=["steps"]).reset_index(drop=True))
    ctx.table(section, "top_paths", variants)
    graph = j.graph(keep_durations=False)
    # Without kept durations the graph has means only: no median or p90 columns of unknowns.
    edges = _in_days(graph.edges().drop(columns=["median_seconds", "p90_seconds"],
                                        errors="ignore"))
    ctx.table(section, "journey_graph_edges", edges)
    ctx.table(section, "journey_graph_nodes", graph.nodes())
    steps: list[str] = list(o.funnel)
    if not steps:
        distinct = many["steps"].map(lambda p: list(dict.fromkeys(p))[:5])
        multi = distinct.map(len) >= 2
        converting = multi & (many["converted"] > 0)
        chosen = distinct[converting] if converting.any() else distinct[multi]
        if len(chosen):
            steps = chosen.iloc[0]
    if len(steps) >= 2:
        funnel = _in_days(j.funnel(steps))
        ctx.table(section, "funnel", funnel)
        section.numbers["funnel"] = " > ".join(steps)
    else:
        funnel = None
        _note(section, "info", "no funnel: no path with two or more channels (set [report] "
              "funnel)")
    repeat = journey.repeat_contacts(log, within=pd.Timedelta(days=o.repeat_within_days))
    if len(repeat):
        ctx.table(section, "repeat_contacts", _in_days(repeat))
        total = repeat[repeat["channel"] == "(all)"]
        if len(total):
            section.numbers["repeat_rate"] = float(total["repeat_rate"].iloc[0])
    else:
        _note(section, "info", "no inbound assisted contacts: no repeat-contact table")

    def draw_paths(ax: Any) -> None:
        labels = [p if len(p) <= 60 else p[:57] + "..." for p in variants["path"]][::-1]
        ax.barh(labels, variants["count"].to_numpy()[::-1], color="tab:blue")
        ax.set_xlabel("journeys")
        ax.set_title(f"Top {len(variants)} paths of {report['journeys']:,} journeys")
    ctx.figures.make(section, "paths", "Top paths", f"Most frequent channel paths; "
                     f"{section.data}.", draw_paths, (8.5, 1.5 + 0.35 * len(variants)))
    if len(edges):
        names = sorted(set(edges["source"]) | set(edges["target"]))
        matrix = (edges.pivot_table(index="source", columns="target", values="count",
                                    aggfunc="sum").reindex(index=names, columns=names)
                  .fillna(0.0))
        shares = matrix.div(matrix.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)

        def draw_graph(ax: Any) -> None:
            image = ax.imshow(shares.to_numpy(), cmap="Blues", vmin=0, vmax=1)
            ax.set_xticks(range(len(names)))
            ax.set_xticklabels(names, rotation=45, ha="right")
            ax.set_yticks(range(len(names)))
            ax.set_yticklabels(names)
            ax.set_xlabel("next touchpoint")
            ax.set_ylabel("touchpoint")
            ax.figure.colorbar(image, ax=ax, label="share of exits")
            ax.set_title("Journey graph: directly-follows transitions")
        side = 2.5 + 0.45 * len(names)
        ctx.figures.make(section, "graph", "Journey graph", "Share of each touchpoint's next "
                         "steps (rows sum to 1 without journey ends); " + section.data + ".",
                         draw_graph, (side + 1.5, side))
    if funnel is not None and len(funnel):
        def draw_funnel(ax: Any) -> None:
            reach = funnel["reached"].to_numpy(dtype=float)
            ax.bar([f"{i + 1}. {s}" for i, s in enumerate(steps)], reach, color="tab:orange")
            ax.set_ylabel("journeys reaching the step")
            ax.set_title("Funnel")
        ctx.figures.make(section, "funnel", "Funnel", "Journeys reaching each ordered step "
                         "(other touchpoints may come between).", draw_funnel)


def _attribution(ctx: _Context, section: Section) -> None:
    j = getattr(ctx, "journeys", None)
    if j is None:
        raise _Skip("no journeys were built (see the journeys section)")
    contents = ("each path is a journey's channels in time order ending with the channel in "
                "which the conversion happened (the purchase's channel is a touch, as in "
                "ChannelAttribution and Shapley attribution); a converted journey is one "
                "conversion worth its revenue, another one is a path without conversion")
    section.data = "the journeys of the journeys section (all events); " + contents
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = j.paths(include_conversion_step=True)
    lost = float(paths.report.get("conversions_without_touchpoints", 0) or 0)
    converted = float(j.report["converted"])
    for w in caught:
        # Many conversions without a touchpoint before them make the credit split partial.
        level = "warning" if converted and lost / converted > 0.1 else "info"
        _note(section, level, f"{w.message}; attribution covers {1 - lost / converted:.0%} of "
              "converted journeys" if converted else str(w.message))
    if paths.total_conversions <= 0:
        raise _Skip("no journey converts (no goal events): nothing to attribute")
    if len(paths.channels) < 2:
        raise _Skip("a single channel: attribution has nothing to split")
    table = journey.attribution(paths)
    ctx.table(section, "attribution", table)
    section.numbers.update(conversions=paths.total_conversions, value=paths.total_value,
                           paths=len(paths),
                           converted_journeys_covered=(paths.total_conversions / converted
                                                       if converted else float("nan")))
    models = [c for c in ("last_touch_conversions", "linear_conversions", "markov_conversions",
                          "shapley_conversions") if c in table]

    def draw(ax: Any) -> None:
        table.set_index("channel")[models].rename(
            columns=lambda c: c.replace("_conversions", "")).plot.bar(ax=ax)
        ax.set_ylabel("conversions credited")
        ax.set_title(f"Attribution of {paths.total_conversions:,.0f} conversions")
    ctx.figures.make(section, "models", "Attribution", "Conversions credited to each channel "
                     "by last touch, linear, Markov removal effects and Shapley values, over "
                     f"{len(paths):,} journey paths with {paths.total_conversions:,.0f} "
                     "conversions.", draw)


def _offering(ctx: _Context, section: Section) -> None:
    o = ctx.options
    result = insight.offering_dimensions(ctx.log, window=ctx.window, replicates=o.replicates,
                                         seed=o.seed, confidence=o.confidence,
                                         threads=ctx.threads)
    section.used = result.used
    section.data = (f"offering tags of events up to {_day(ctx.end)}; value = revenue in the "
                    "window; retention = a purchase in the last 13 weeks")
    if int(result.coverage["customers"].sum()) == 0:
        raise _Skip("no event carries an offering dimension (product, service, relationship, "
                    "transformation)")
    ctx.offer = result.customers
    ctx.table(section, "offering_coverage", result.coverage.reset_index())
    ctx.table(section, "offering_by_count", result.by_count.reset_index())
    ctx.table(section, "offering_next_steps", result.next_steps)
    section.numbers.update({f"coverage_{d}": float(v)
                            for d, v in result.coverage["share"].items()})

    def draw(ax: Any) -> None:
        ax.bar(result.coverage.index.astype(str), result.coverage["share"], color="tab:cyan")
        ax.set_ylim(0, 1)
        ax.set_ylabel("share of customers engaged")
        ax.set_title("Four-dimension coverage")
    ctx.figures.make(section, "coverage", "Four-dimension coverage", "Share of customers who "
                     f"engaged each offering dimension up to {_day(ctx.end)}.", draw)
    ctx.figures.make(section, "value", "Value and retention by coverage",
                     "Mean window revenue and retention by number of dimensions engaged.",
                     lambda ax: result.plot(ax))


_BENCHMARK_TIERS = {"consume_only": 0.90, "occasional_contributor": 0.09,
                    "heavy_contributor": 0.01}


def _engagement(ctx: _Context, section: Section) -> None:
    o = ctx.options
    result = insight.engagement_tiers(ctx.log, window=ctx.window, replicates=o.replicates,
                                      seed=o.seed, confidence=o.confidence, threads=ctx.threads)
    section.used = result.used
    section.data = f"community posts and purchases in the window {ctx.window_text()}"
    tiers = result.tiers
    if "posts" in tiers and float(tiers["posts"].sum()) == 0:
        raise _Skip("no community contributions in the window: no participation tiers")
    table = tiers.reset_index()
    table["benchmark_share"] = table["tier"].map(_BENCHMARK_TIERS)
    ctx.table(section, "engagement_tiers", table)
    ratios = result.ratios.reset_index(names="ratio")
    ratios["usual_benchmark"] = ratios["ratio"].map(
        {"engaged_revenue_ratio": "1.7", "loyal_repurchase_ratio": "4 to 6"})
    ctx.table(section, "engagement_ratios", ratios)
    for name in ("engaged_revenue_ratio", "loyal_repurchase_ratio"):
        section.numbers[name] = float(result.ratios.loc[name, "value"])
    ctx.figures.make(section, "tiers", "Participation tiers", "Share of customers and of "
                     "contributions per tier (the 90-9-1 benchmark is 0.90 / 0.09 / 0.01).",
                     lambda ax: result.plot(ax))


def _profitability(ctx: _Context, section: Section) -> None:
    result = insight.profitability(ctx.log, window=ctx.window, threads=ctx.threads)
    section.used = result.used
    section.data = (f"revenue and cost to serve in the window {ctx.window_text()}; each "
                    "contact costs its own cost, else its channel's cost per contact")
    totals = result.totals
    section.numbers.update(revenue=float(totals["revenue"]), cost=float(totals["cost"]),
                           margin=float(totals["margin"]),
                           peak_profit_share=float(totals["peak_profit_share"]),
                           peak_customer_share=float(totals["peak_customer_share"]))
    ctx.table(section, "profitability_channels", result.channels.reset_index())
    ctx.table(section, "whale_curve", result.whale_curve)
    if totals["customers_unknown"]:
        _note(section, "warning", f"{int(totals['customers_unknown']):,} customers have "
              "contacts of unknown cost: their margin is unknown and left out of the whale "
              "curve")
    if not float(totals["revenue"]):
        _note(section, "warning", "no revenue in the window: the whale curve is flat")
    ctx.figures.make(section, "whale", "Whale curve", "Cumulative share of profit against "
                     "share of customers, most profitable first; " + section.data + ".",
                     lambda ax: result.plot(ax))


def _feedback(ctx: _Context, section: Section) -> None:
    result = insight.feedback(ctx.log, window=ctx.window, threads=ctx.threads)
    section.used = result.used
    section.data = f"survey invitations and responses in the window {ctx.window_text()}"
    if len(result.channels) == 0 or int(result.channels["invitations"].sum()) == 0:
        raise _Skip("no survey invitations in the data: no feedback analysis")
    ctx.table(section, "feedback_channels", result.channels.reset_index())
    ctx.table(section, "survey_fatigue", result.fatigue.reset_index())
    ctx.table(section, "sentiment", result.sentiment.reset_index())
    section.numbers["fatigue_slope"] = result.slope
    if int(result.channels["responses"].sum()) == 0:
        _note(section, "warning", "no survey scores (responses): sentiment is unknown")
    if not result.converged:
        _note(section, "warning", "the survey-fatigue fit did not converge: its slope is not "
              "reported as a finding")
    ctx.figures.make(section, "fatigue", "Survey fatigue", "Response rate by invitations in the "
                     "previous 13 weeks, with the logistic fit.", lambda ax: result.plot(ax))


def _service(ctx: _Context, section: Section) -> None:
    o = ctx.options
    result = insight.service_metrics(ctx.log, window=ctx.window,
                                     resolve_goal_hours=o.resolve_goal_hours,
                                     threads=ctx.threads)
    section.used = result.used
    section.data = (f"service contacts, complaints and cases in the window "
                    f"{ctx.window_text()}; goal {o.resolve_goal_hours:g} h")
    channels = result.channels
    if len(channels) == 0 or (int(channels["contacts"].sum()) == 0
                              and int(channels["scored"].sum()) == 0):
        raise _Skip("no service contacts or scored interactions in the window")
    ctx.table(section, "service", channels.reset_index())
    if int(channels["scored"].sum()) == 0:
        _note(section, "warning", "no scored service contacts: CSAT is unknown")
    ctx.figures.make(section, "service", "Service by channel", "CSAT, share resolved within "
                     "the goal and first-contact resolution per channel.",
                     lambda ax: result.plot(ax))


def _sample(n: int, size: int, seed: int) -> np.ndarray:
    """Rows to fit on: all, or ``size`` of them drawn with ``seed`` (in order)."""
    if size <= 0 or n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def _at_risk(ctx: _Context, section: Section) -> None:
    o = ctx.options
    log = ctx.log
    horizon = pd.Timedelta(days=o.horizon_days)
    train_at = ctx.end - horizon
    section.data = (f"churn = no purchase within {o.horizon_days:g} days; model fitted on "
                    f"features at {_day(train_at)} and outcomes to {_day(ctx.end)}"
                    f"{f' (at most {o.churn_fit_sample:,} customers drawn at random)' if o.churn_fit_sample else ''}"
                    f"; every customer scored at {_day(ctx.end)}")
    if ctx.first is None or train_at <= ctx.first:
        raise _Skip(f"the data covers less than the churn horizon ({o.horizon_days:g} days): "
                    "no outcome to learn from")
    train = survival.churn_features(log, train_at, window_days=o.churn_window_days,
                                    threads=ctx.all_threads)
    if len(train) < max(o.min_customers, 2):
        raise _Skip(f"only {len(train):,} customers before {_day(train_at)} (fewer than "
                    f"min_customers = {o.min_customers})")
    outcomes = survival.churn_outcomes(log, train, train_at, o.horizon_days)
    churned = outcomes["churned"].to_numpy(dtype=float)
    if churned.min() == churned.max():
        raise _Skip("every customer has the same churn outcome: no churn model can be fitted")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = _sample(len(train), o.churn_fit_sample, o.seed)
        model = survival.ChurnModel().fit(train.iloc[rows], churned[rows])
    for w in caught:
        _note(section, "warning", f"churn model: {w.message}")
    # Out-of-time check: a model fitted one horizon earlier, judged on the training outcomes.
    check_at = train_at - horizon
    if check_at > ctx.first:
        earlier = survival.churn_features(log, check_at, window_days=o.churn_window_days,
                                          threads=ctx.all_threads)
        labels = survival.churn_outcomes(log, earlier, check_at, o.horizon_days)["churned"]
        y = labels.to_numpy(dtype=float)
        if len(earlier) >= max(o.min_customers, 2) and y.min() != y.max():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rows = _sample(len(earlier), o.churn_fit_sample, o.seed)
                old = survival.ChurnModel().fit(earlier.iloc[rows], y[rows])
            check = survival.evaluate_churn(old.predict_proba(train), churned)
            section.numbers.update(out_of_time_auc=float(check["auc"]),
                                   out_of_time_brier=float(check["brier"]))
            ctx.table(section, "churn_calibration", check["calibration"])
    if "out_of_time_auc" not in section.numbers:
        _note(section, "warning", "not enough history for an out-of-time check of the churn "
              "model (two horizons): its accuracy is not reported")
    ctx.table(section, "churn_model", model.coefficients.reset_index())
    features = survival.churn_features(log, ctx.end, window_days=o.churn_window_days,
                                       threads=ctx.all_threads)
    risk = model.predict_proba(features)
    ctx.risk = risk
    clv = None
    if ctx.clv is not None:
        clv = ctx.clv.reindex(features.index)
    listing = model.at_risk(features, clv=clv, limit=o.at_risk_limit,
                            threads=ctx.all_threads)
    ctx.table(section, "at_risk", listing.reset_index(names="customer"))
    section.numbers.update(customers_scored=len(features), mean_risk=float(risk.mean()),
                           churn_rate_train=float(churned.mean()))
    if clv is not None:
        value = risk.to_numpy() * clv.to_numpy(dtype=float)
        section.numbers["value_at_risk"] = float(np.nansum(value))
        health = ctx.sections.get("customer_base")
        if health is not None and health.status != "skipped":
            health.numbers["value_at_risk"] = section.numbers["value_at_risk"]
            health.numbers["value_at_risk_definition"] = (
                f"churn risk (no purchase within {o.horizon_days:g} days) x CLV, summed; see "
                "At-risk customers")
        unknown = int(np.isnan(value).sum())
        if unknown:
            _note(section, "info", f"{unknown:,} customers have no CLV (no purchase): their "
                  "value at risk is unknown and not counted")
    else:
        _note(section, "warning", "no CLV: the at-risk list is ranked by churn risk and value at "
              "risk is unknown")
    if "customer_scores" in ctx.tables:
        scores = ctx.tables["customer_scores"]
        scores["churn_risk"] = risk.reindex(scores.index).to_numpy()
        scores["value_at_risk"] = scores["churn_risk"] * scores["clv"]
    bins = np.linspace(0, 1, 21)
    counts, _ = np.histogram(risk.to_numpy(), bins=bins)

    def draw(ax: Any) -> None:
        ax.bar(bins[:-1], counts, width=0.05, align="edge", color="tab:red")
        ax.set_xlabel(f"churn risk (no purchase within {o.horizon_days:g} days)")
        ax.set_ylabel("customers")
        ax.set_title("Churn risk")
    ctx.figures.make(section, "risk", "Churn risk", f"Logistic churn model risk of every "
                     f"customer at {_day(ctx.end)}.", draw)


#: Quiet hours of the outreach plan (UTC): no contact from 21:00 to 08:00.
_QUIET_HOURS = (21, 8)


def _outreach(ctx: _Context, section: Section) -> None:
    o = ctx.options
    section.data = (f"a plan of {o.outreach_days:g} days from {_day(ctx.end)}; consented "
                    "contact points only")
    if ctx.points is None:
        raise _Skip("no contact points: consent is never assumed, so no contact is planned")
    available = set(ctx.channel_names) & set(ctx.points["channel"].astype(str))
    channels = {n: s for n, s in o.outreach_channels.items() if n in available}
    left = sorted(set(o.outreach_channels) - set(channels))
    if left:
        _note(section, "warning", "outreach channels without events or contact points left "
              "out: " + ", ".join(left))
    if not channels:
        raise _Skip("none of the outreach channels has events and contact points")
    preference = insight.channel_preference(ctx.log, ctx.points, window=ctx.window,
                                            as_of=ctx.end, threads=ctx.threads)
    ctx.table(section, "channel_preference", preference.channels.reset_index())
    offer = ctx.offer
    # Who may be contacted: churn risk and CLV above the thresholds (a retention campaign, not
    # a mailing to everyone). Missing thresholds' inputs are said, never silently assumed.
    eligible = pd.Series(True, index=ctx.log.customers)
    rules: list[str] = []
    if ctx.risk is not None and o.outreach_min_risk > 0:
        risk = ctx.risk.reindex(eligible.index)
        eligible &= (risk >= o.outreach_min_risk).to_numpy()
        rules.append(f"churn risk >= {o.outreach_min_risk:g}")
    elif o.outreach_min_risk > 0:
        _note(section, "warning", "no churn risk: the risk threshold "
              f"({o.outreach_min_risk:g}) is not applied and every customer counts as at risk")
    if ctx.clv is not None and o.outreach_min_value_quantile > 0:
        clv = ctx.clv.reindex(eligible.index)
        floor = float(np.nanquantile(clv.to_numpy(dtype=float), o.outreach_min_value_quantile))
        eligible &= (clv >= floor).to_numpy()
        rules.append(f"CLV >= {floor:,.2f} (the {o.outreach_min_value_quantile:.0%} quantile)")
    elif o.outreach_min_value_quantile > 0:
        _note(section, "warning", "no CLV: the value threshold is not applied (past-year "
              "revenue stands in for value)")
    capacity = ", ".join(
        f"{n} {int(spec['daily_capacity']):,}/day" if spec.get("daily_capacity")
        else f"{n} unlimited" for n, spec in channels.items())
    limits = (f"capacity {capacity}; at most {o.outreach_per_customer} contact(s) per customer "
              f"in any {o.outreach_cap_window_days:g} days (outbound history counted); "
              f"{o.outreach_touches} touch(es) per customer; quiet hours "
              f"{_QUIET_HOURS[0]:02d}:00-{_QUIET_HOURS[1]:02d}:00 UTC"
              + (f"; at most {o.outreach_max_customers:,} customers" if o.outreach_max_customers
                 else "")
              + "; only customers with " + (" and ".join(rules) if rules else "any score")
              + "; only channels with granted consent")
    section.data += f". Limits: {limits}"
    section.numbers["limits"] = limits
    section.numbers["eligible_customers"] = int(eligible.sum())
    plan = engage.plan_outreach(
        ctx.log, ctx.points, start=ctx.end, days=o.outreach_days, channels=channels,
        risk=ctx.risk, value=ctx.clv, preferred_channel=preference.customers["preferred"],
        offer=None if offer is None else offer["recommended"],
        offer_lift=None if offer is None else offer["expected_lift"],
        eligible=eligible, per_customer=o.outreach_per_customer, quiet_hours=_QUIET_HOURS,
        cap_window_days=o.outreach_cap_window_days,
        touches=o.outreach_touches, max_customers=o.outreach_max_customers)
    section.used = plan.used + preference.used
    ctx.table(section, "outreach_plan", plan.contacts)
    ctx.table(section, "outreach_channels", plan.channels.reset_index())
    ctx.table(section, "outreach_skipped", plan.skipped.rename_axis("reason").reset_index())
    section.numbers.update(contacts=len(plan.contacts), customers_planned=plan.customers_planned,
                           candidates=plan.candidates,
                           expected_value=float(plan.contacts["expected_value"].sum()))
    ctx.figures.make(section, "plan", "Outreach plan", f"Planned contacts per day and channel, "
                     f"{_day(plan.start)} to {_day(plan.end)}.", lambda ax: plan.plot(ax),
                     (9.0, 4.0))


_SPECS = [
    _Spec("overview", "Inputs and overview", "Customers, events and channels read, the sources "
          "and rejected rows.", _overview),
    _Spec("customer_base", "Customer base health", "Who is still a customer (BG/NBD P(alive)) "
          "and what they are worth (CLV).", _customer_base),
    _Spec("dark_matter", "Dark matter", "Active customers each assisted channel never sees: "
          "no interaction there and no consented contact point.", _dark_matter),
    _Spec("channel_shift", "Channel shift", "Whether digital adoption moved work out of "
          "assisted channels (difference in differences).", _channel_shift),
    _Spec("cohorts", "Cohort retention", "Share of each acquisition cohort still active "
          "period after period.", _cohorts),
    _Spec("journeys", "Journeys", "The cross-channel paths: top paths, the journey graph, a "
          "funnel and repeat contacts.", _journeys),
    _Spec("attribution", "Attribution", "Which channels get credit for conversions, by "
          "heuristic, Markov and Shapley models.", _attribution),
    _Spec("offering_dimensions", "Four-dimension coverage", "Product, service, relationship "
          "and transformation: coverage, value, retention.", _offering),
    _Spec("engagement", "Engagement tiers", "90-9-1 participation tiers and the engaged / loyal "
          "ratios against the usual benchmarks.", _engagement),
    _Spec("profitability", "Profitability", "Revenue, cost to serve and the whale curve.",
          _profitability),
    _Spec("feedback", "Feedback", "Survey coverage, response, fatigue and what sentiment "
          "predicts.", _feedback),
    _Spec("service", "Service metrics", "CSAT, resolve times and first-contact resolution per "
          "channel.", _service),
    _Spec("at_risk", "At-risk customers", "Churn risk per customer, value at risk and the "
          "riskiest customers with reasons.", _at_risk),
    _Spec("outreach", "Outreach plan", "Whom to contact, where, when and with what offer, "
          "within consent and capacity.", _outreach),
]


def _inputs_summary(inputs: ReportInputs, ctx: _Context) -> dict[str, Any]:
    log = inputs.event_log
    identity = dict(inputs.identity or {})
    hashed = bool(identity.get("hashed") or identity.get("hash_outputs")
                  or identity.get("salted"))
    return {
        "customers": log.n_customers, "events": log.n_events,
        "channels": len(ctx.channel_names), "window": ctx.window_text(),
        "first_event": _day(ctx.first), "last_event": _day(ctx.last),
        "contact_points": 0 if ctx.points is None else len(ctx.points),
        "rows_rejected": log.rejections.rows_rejected, "identity": identity,
        "keys_hashed": hashed,
    }


def build_report(inputs: ReportInputs, *, stages: Stages | None = None,
                 threads: int = 0) -> Report:
    """Runs every analysis of the report on ``inputs``, each in its own ``stages(...)`` block.

    Options come from ``inputs.settings`` (:meth:`ReportOptions.from_mapping`: unknown keys
    raise :class:`cxlens.InvalidArgument`). An analysis that cannot run adds a ``skipped``
    note and the others go on; ``threads`` (0: all cores) goes to every analysis, whose results
    do not depend on it.
    """
    if not isinstance(inputs, ReportInputs):
        raise TypeError("build_report needs a cxlens.report.ReportInputs")
    options = ReportOptions.from_mapping(inputs.settings)
    stages = stages if stages is not None else Stages(quiet=True)
    ctx = _Context(inputs, options, threads)
    sections = ctx.sections
    empty = inputs.event_log.n_events == 0
    for spec in _SPECS:
        section = Section(spec.id, spec.title, spec.shows)
        sections[spec.id] = section
        with stages(spec.id.replace("_", " ")):
            if empty and spec.id != "overview":
                _note(section, "skipped", "the event log holds no events")
                continue
            _run(spec, ctx, section)
    ordered = [sections[i] for i in SECTION_IDS]
    notes = list(inputs.notes) + [n for s in ordered for n in s.notes]
    return Report(ordered, ctx.tables, notes, stages, _inputs_summary(inputs, ctx), options)


def _run(spec: _Spec, ctx: _Context, section: Section) -> None:
    try:
        spec.run(ctx, section)
    except _Skip as reason:
        _note(section, "skipped", str(reason))
    except _CxlensError as error:
        # cxlens errors name options, channels and sizes, never a cell's value.
        _note(section, "skipped", f"could not run: {error}")
    except Exception as error:  # noqa: BLE001 - the report goes on; the type is reported
        _note(section, "skipped", f"failed unexpectedly ({type(error).__name__}); the other "
              "analyses went on")
        section.numbers["error_type"] = type(error).__name__
