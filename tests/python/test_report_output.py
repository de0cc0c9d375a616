"""The output half of ``cxlens report``: build_report on simulated and degenerate inputs, and the
self-contained HTML. Numbers in the report are checked against the area APIs called directly."""

from __future__ import annotations

import re
import warnings
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

import cxlens
from cxlens import engage, insight, journey, retention
from cxlens.report import (ReportInputs, ReportOptions, Stages, build_report, write_report)
from cxlens.report.analyses import SECTION_IDS

pytest.importorskip("matplotlib")
pytest.importorskip("pyarrow")

# Small settings keep the bootstraps cheap; they are what the report must pass on.
SETTINGS = {"replicates": 30, "at_risk_limit": 20, "top_paths": 5}
# Degenerate inputs are about notes and tables; figures are checked on the main report.
QUICK = {**SETTINGS, "figures": False}


@pytest.fixture(scope="module")
def world():
    return cxlens.simulate(3000, seed=1, threads=2, source_records=False)


@pytest.fixture(scope="module")
def report(world):
    inputs = ReportInputs(event_log=world.event_log, contact_points=world.contact_points,
                          settings=dict(SETTINGS))
    return build_report(inputs, stages=Stages(quiet=True), threads=2)


def _events(world) -> pd.DataFrame:
    return world.event_log.to_pandas()


def _log(frame: pd.DataFrame) -> cxlens.EventLog:
    extra = {c: c for c in ("value", "direction", "offering", "case_id", "score") if c in frame}
    return cxlens.EventLog.from_pandas(frame, **extra)


def _statuses(report) -> dict[str, str]:
    return {s.id: s.status for s in report.sections}


def _skipped_text(report, section: str) -> str:
    return " ".join(n.message for n in report.section(section).notes if n.level == "skipped")


def _no_failures(report) -> None:
    failures = [n for n in report.notes if "unexpectedly" in n.message]
    assert not failures, failures


def test_contact_points_match_the_contract(world):
    assert {"customer", "channel", "consent", "consent_time"} <= set(world.contact_points)


def test_every_section_present_and_run(report):
    assert [s.id for s in report.sections] == list(SECTION_IDS)
    _no_failures(report)
    statuses = _statuses(report)
    skipped = {k for k, v in statuses.items() if v == "skipped"}
    assert not skipped, [n for n in report.notes if n.level == "skipped"]
    for section in report.sections:
        assert section.data, section.id  # every section says what data and window it used
        for figure in section.figures:
            assert section.data in figure.caption and figure.svg.startswith("<svg")
    assert all(name in report.tables for s in report.sections for name in s.tables)
    names = {s.id for s in report.sections if s.figures}
    assert {"dark_matter", "customer_base", "cohorts", "journeys", "attribution",
            "profitability", "at_risk", "outreach"} <= names
    lines = report.summary_lines()
    assert any("customers" in line for line in lines)
    assert any("value at risk" in line for line in lines)
    assert any("contacts planned" in line for line in lines)
    assert list(report.stages.table()["name"]) == [i.replace("_", " ") for i in (
        "overview", "customer_base", "dark_matter", "channel_shift", "cohorts", "journeys",
        "attribution", "offering_dimensions", "engagement", "profitability", "feedback",
        "service", "at_risk", "outreach")]


def test_numbers_agree_with_the_area_apis(world, report):
    log = world.event_log
    o = ReportOptions.from_mapping(SETTINGS)
    # Retention: the same BG/NBD fit and CLV as calling cxlens.retention directly.
    end = pd.Timestamp(int(log.time_ns.max()), tz="UTC")
    summary = retention.rfm(log, "W", observation_end=end)
    model = retention.BgNbd.fit(summary)
    fitted = report.tables["retention_model"].set_index("parameter")["coef"]
    for name, value in model.params.items():
        assert fitted[name] == pytest.approx(value, rel=1e-9)
    scores = report.tables["customer_scores"]
    f, r, T, m = (summary[c].to_numpy() for c in ("frequency", "recency", "T", "monetary_value"))
    np.testing.assert_allclose(scores["p_alive"], model.probability_alive(f, r, T), rtol=1e-12)
    repeat = (f > 0) & (m > 0)
    spend = retention.GammaGamma.fit(f[repeat], m[repeat])
    clv = spend.customer_lifetime_value(model, f, r, T, m, months=12, discount_rate=0.01,
                                        freq="W")
    assert report.section("customer_base").numbers["total_clv"] == pytest.approx(clv.sum())
    # Dark matter with that CLV, the world's contact points.
    dark = insight.dark_matter(log, world.contact_points, clv=pd.Series(clv, index=summary.index))
    pd.testing.assert_series_equal(
        report.tables["dark_matter"].set_index("channel")["share"], dark.summary["share"])
    # Profitability, engagement, channel shift.
    prof = insight.profitability(log)
    assert report.section("profitability").numbers["margin"] == pytest.approx(
        prof.totals["margin"])
    eng = insight.engagement_tiers(log, replicates=o.replicates, seed=o.seed)
    assert report.section("engagement").numbers["engaged_revenue_ratio"] == pytest.approx(
        eng.ratios.loc["engaged_revenue_ratio", "value"])
    shift = insight.channel_shift(log, replicates=o.replicates, seed=o.seed)
    assert report.section("channel_shift").numbers["effect"] == pytest.approx(shift.effect)
    # Journeys and attribution.
    j = journey.journeys(log, gap=pd.Timedelta(days=30), goal="purchase", goal_as_step=True)
    variants = j.variants(top=o.top_paths).drop(columns=["steps"])
    shown = report.tables["top_paths"]
    assert (shown["path"] != "").all()  # the purchase is a step: no empty path
    pd.testing.assert_frame_equal(shown.drop(columns=["median_days", "mean_days"]),
                                  variants.drop(columns=["median_seconds", "mean_seconds"]))
    np.testing.assert_allclose(shown["median_days"], variants["median_seconds"] / 86400)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # with the conversion step no conversion is left out
        paths = j.paths(include_conversion_step=True)
    pd.testing.assert_frame_equal(report.tables["attribution"], journey.attribution(paths))
    attribution = report.section("attribution")
    assert not any("without steps" in n.message for n in attribution.notes)
    assert attribution.numbers["conversions"] == j.report["converted"]  # every conversion
    assert attribution.numbers["converted_journeys_covered"] == 1.0
    assert "ending with the channel in which the conversion happened" in \
        attribution.figures[0].caption
    # Value at risk = churn risk x CLV summed; the at-risk list is the survival API's.
    risk = report.tables["customer_scores"]["churn_risk"]
    assert report.section("at_risk").numbers["value_at_risk"] == pytest.approx(
        np.nansum(risk * scores["clv"]))
    assert report.section("customer_base").numbers["value_at_risk"] == \
        report.section("at_risk").numbers["value_at_risk"]
    listing = report.tables["at_risk"]
    assert len(listing) == SETTINGS["at_risk_limit"]
    assert listing["value_at_risk"].is_monotonic_decreasing
    # Outreach: only consented channels, every contact in the plan's table.
    plan = report.tables["outreach_plan"]
    assert report.section("outreach").numbers["contacts"] == len(plan)
    assert set(plan["channel"].astype(str)) <= {"email", "sms"}


def test_outreach_keeps_consent_capacity_and_fatigue(world, report):
    o = ReportOptions.from_mapping(SETTINGS)
    plan = report.tables["outreach_plan"]
    section = report.section("outreach")
    assert len(plan) > 0
    # Consent is never bypassed: every contact is on a (customer, channel) contact point whose
    # consent was granted by the contact's time (the world has one point per pair).
    points = world.contact_points.assign(channel=lambda f: f["channel"].astype(str))
    assert not points.duplicated(["customer", "channel"]).any()
    joined = plan.assign(channel=plan["channel"].astype(str)).merge(
        points, on=["customer", "channel"], how="left", validate="many_to_one")
    assert (joined["consent"].astype(str) == "granted").all()
    assert (joined["consent_time"] <= joined["time"]).all()
    assert (joined["consent_since"] == joined["consent_time"]).all()
    # Capacity per channel per day and the fatigue limit of the defaults.
    per_day = plan.groupby([plan["channel"].astype(str), plan["time"].dt.floor("D")]).size()
    for (channel, _day), count in per_day.items():
        assert count <= o.outreach_channels[channel]["daily_capacity"]
    assert plan.groupby("customer").size().max() <= o.outreach_per_customer
    # Only customers above the risk and value thresholds.
    scores = report.tables["customer_scores"]
    chosen = scores.loc[plan["customer"].unique()]
    assert (chosen["churn_risk"] >= o.outreach_min_risk).all()
    assert (chosen["clv"] >= scores["clv"].quantile(o.outreach_min_value_quantile) - 1e-9).all()
    # The section says the limits used.
    for text in ("email 2,000/day", "sms 500/day", "1 contact(s) per customer in any 14 days",
                 "churn risk >= 0.5", "granted consent"):
        assert text in section.data, text


def test_options_refuse_unknown_keys_and_bad_values(world):
    with pytest.raises(cxlens.InvalidArgument, match="top_pathz"):
        ReportOptions.from_mapping({"top_pathz": 3})
    with pytest.raises(cxlens.InvalidArgument, match="freq"):
        ReportOptions.from_mapping({"freq": "Q"})
    with pytest.raises(cxlens.InvalidArgument, match="horizon_days"):
        ReportOptions.from_mapping({"horizon_days": "ninety"})
    options = ReportOptions.from_mapping({"adoption-channels": ["web"], "top_paths": 3.0,
                                          "figures": False})
    assert options.adoption_channels == ("web",) and options.top_paths == 3
    assert not options.figures
    with pytest.raises(cxlens.InvalidArgument, match="figures"):
        ReportOptions.from_mapping({"figures": "no"})
    for key, bad in (("outreach_min_risk", 1.5), ("outreach_min_value_quantile", -0.1),
                     ("outreach_per_customer", 0), ("outreach_cap_window_days", 0)):
        with pytest.raises(cxlens.InvalidArgument, match=key):
            ReportOptions.from_mapping({key: bad})
    with pytest.raises(cxlens.InvalidArgument, match="bogus"):
        build_report(ReportInputs(event_log=world.event_log, settings={"bogus": 1}))


def _quick(log, points=None, **kwargs):
    inputs = ReportInputs(event_log=log, settings=dict(QUICK),
                          contact_points=points if points is not None else pd.DataFrame(),
                          **kwargs)
    report = build_report(inputs, threads=2)
    _no_failures(report)
    assert [s.id for s in report.sections] == list(SECTION_IDS)
    return report


def test_no_values_no_contact_points(world):
    events = _events(world).drop(columns=["value"])
    report = _quick(_log(events))
    statuses = _statuses(report)
    assert statuses["outreach"] == "skipped"
    assert "contact points" in _skipped_text(report, "outreach")
    assert statuses["dark_matter"] == "warning"
    # Purchases without values: one-time and repeat spend are 0, so the spend model cannot run.
    assert "CLV" in " ".join(n.message for n in report.section("customer_base").notes)
    assert "value_at_risk" not in report.section("at_risk").numbers


def test_single_channel(world):
    events = _events(world)
    events = events[events["channel"] == "web"].copy()
    events["channel"] = events["channel"].astype(str)
    report = _quick(_log(events), world.contact_points)
    statuses = _statuses(report)
    assert statuses["channel_shift"] == "skipped"
    assert statuses["attribution"] == "skipped"
    assert statuses["outreach"] == "skipped"  # neither email nor sms is in the data


def test_handful_of_customers(world):
    events = _events(world)
    few = events[events["customer"].isin(events["customer"].unique()[:5])].copy()
    few["channel"] = few["channel"].astype(str)
    report = _quick(_log(few), world.contact_points)
    assert _statuses(report)["customer_base"] == "skipped"
    assert "min_customers" in _skipped_text(report, "customer_base")
    assert _statuses(report)["at_risk"] == "skipped"


def test_empty_window_and_empty_log(world):
    log = world.event_log
    after = pd.Timestamp(int(log.time_ns.max()), tz="UTC") + pd.Timedelta(days=400)
    report = _quick(log, world.contact_points, window_start=after,
                    window_end=after + pd.Timedelta(days=30))
    assert _statuses(report)["dark_matter"] == "skipped"
    empty = _log(_events(world).iloc[:0])
    report = _quick(empty)
    assert all(s.status == "skipped" for s in report.sections[1:])
    assert report.summary_lines()


def test_html_is_self_contained(report, tmp_path):
    path = write_report(report, tmp_path / "out")
    text = path.read_text(encoding="utf-8")
    assert path.name == "index.html"
    assert not re.search(r"https?://", text)
    assert "<script" not in text.lower() and "<link" not in text.lower()

    class Collect(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.ids: set[str] = set()
            self.svgs = 0

        def handle_starttag(self, tag, attrs):
            self.ids.update(v for k, v in attrs if k == "id" and v)
            self.svgs += tag == "svg"

    parser = Collect()
    parser.feed(text)
    parser.close()
    assert set(SECTION_IDS) <= parser.ids
    assert parser.svgs == sum(len(s.figures) for s in report.sections)
    for name, frame in report.tables.items():
        back = pd.read_parquet(tmp_path / "out" / "tables" / f"{name}.parquet")
        assert len(back) == len(frame), name
        assert (tmp_path / "out" / "tables" / f"{name}.csv").exists()
    # Customer keys only in the at-risk list and the outreach plan: no per-customer table
    # is printed in the HTML.
    assert "One row per customer: in the files only" in text


def test_same_tables_for_any_thread_count():
    small = cxlens.simulate(1200, seed=3, threads=2, source_records=False)
    reports = [build_report(ReportInputs(event_log=small.event_log,
                                         contact_points=small.contact_points,
                                         settings=dict(QUICK)), threads=t) for t in (1, 2)]
    assert reports[0].tables.keys() == reports[1].tables.keys()
    for name, frame in reports[0].tables.items():
        pd.testing.assert_frame_equal(frame, reports[1].tables[name], obj=name)
    assert reports[0].summary_lines() == reports[1].summary_lines()


def test_identity_summary_counts_only_in_html(world, tmp_path):
    lineage = pd.DataFrame({"source": ["crm"], "record_id": ["REC-SECRET-1"], "customer": [1]})
    small = cxlens.simulate(300, seed=2, threads=2, source_records=False)
    report = build_report(ReportInputs(
        event_log=small.event_log, settings=dict(QUICK),
        identity={"records": 2, "customers": 1, "matches_by_rule": {"email": 1},
                  "lineage": lineage, "hashed": True}))
    text = write_report(report, tmp_path).read_text(encoding="utf-8")
    assert "REC-SECRET-1" not in text
    assert "records 2" in text and "salted hashes" in text


def test_a_fit_at_the_precision_limit_is_used_with_a_note():
    from types import SimpleNamespace

    from cxlens.report.analyses import Section, _fit_usable

    section = Section("customer_base", "Customer base", "")
    assert _fit_usable(SimpleNamespace(converged=True, reason="gradient below tolerance",
                                       gradient_norm=0.0), section, "spend")
    assert not section.notes
    # What cxlens.retention reports for a fit whose objective reached double precision with
    # the gradient below the acceptable tolerance (tests/python/test_retention.py).
    at_limit = ("objective at its precision limit with the gradient below the acceptable "
                "tolerance")
    assert _fit_usable(SimpleNamespace(converged=True, reason=at_limit, gradient_norm=3e-7),
                       section, "spend")
    assert "precision limit" in section.notes[-1].message
    assert section.notes[-1].level == "info"
    assert not _fit_usable(SimpleNamespace(converged=False, reason="line search could not "
                                           "reduce the objective (precision limit)",
                                           gradient_norm=1e-3), section, "spend")


def test_overview_has_one_cost_and_counts_customers_without_events():
    small = cxlens.simulate(300, seed=2, threads=2, source_records=False)
    n = small.event_log.n_customers
    report = build_report(ReportInputs(event_log=small.event_log, settings=dict(QUICK),
                                       identity={"records": n + 9, "customers": n + 4}))
    assert "cost" not in report.tables["channels"]  # cost to serve is profitability's
    assert "cost" in report.tables["profitability_channels"]
    notes = [n.message for n in report.section("overview").notes]
    assert any(m.startswith(f"4 of the {n + 4:,} customers") for m in notes), notes
