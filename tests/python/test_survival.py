"""Tests of cxlens.survival and cxlens.compat.lifelines: the rossi reference numbers, lifelines
itself in the same run where it is installed (every Cox summary cell to 1e-6), bad input,
cohort tables and the churn at-risk list on a world with a planted driver."""

from __future__ import annotations

import importlib.util
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cxlens
from cxlens import survival
from cxlens.compat.lifelines import CoxPHFitter, KaplanMeierFitter, NelsonAalenFitter
from cxlens.compat.lifelines.datasets import load_rossi, load_waltons
from cxlens.compat.lifelines.statistics import logrank_test, multivariate_logrank_test

sys.path.insert(0, str(Path(__file__).parent))
from churn_world import day, make_world  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data" / "lifelines"
HAVE_LIFELINES = importlib.util.find_spec("lifelines") is not None
needs_lifelines = pytest.mark.skipif(not HAVE_LIFELINES,
                                     reason="lifelines is not installed in this environment")

COEF = {"fin": -0.3794222, "age": -0.0574377, "race": 0.3138998, "wexp": -0.1497957,
        "mar": -0.4337039, "paro": -0.0848711, "prio": 0.0914971}
SE = {"fin": 0.19138, "age": 0.02200, "race": 0.30799, "wexp": 0.21222, "mar": 0.38187,
      "paro": 0.19576, "prio": 0.02865}


@pytest.fixture(scope="module")
def rossi() -> pd.DataFrame:
    return pd.read_csv(DATA / "rossi.csv")


def test_packaged_datasets_equal_test_data(rossi):
    pd.testing.assert_frame_equal(load_rossi(), rossi)
    assert load_waltons().shape == (163, 3)


# ---- reference numbers ----------------------------------------------------------------------

def test_cox_efron_rossi_reference(rossi):
    cph = CoxPHFitter().fit(rossi, duration_col="week", event_col="arrest")
    for name, value in COEF.items():
        assert cph.params_[name] == pytest.approx(value, abs=1e-6)
        assert cph.standard_errors_[name] == pytest.approx(SE[name], abs=1e-5)
    assert cph.log_likelihood_ == pytest.approx(-658.7477, abs=1e-4)
    assert round(cph.concordance_index_, 3) == 0.640
    lr = cph.log_likelihood_ratio_test()
    assert round(lr.test_statistic, 2) == 33.27
    assert lr.degrees_freedom == 7


def test_cox_breslow_rossi_reference(rossi):
    result = survival.fit_cox(rossi, "week", "arrest", ties="breslow")
    assert result.log_likelihood == pytest.approx(-659.1206, abs=1e-4)


def test_logrank_race_reference(rossi):
    r = rossi
    result = logrank_test(r.week[r.race == 1], r.week[r.race == 0], r.arrest[r.race == 1],
                          r.arrest[r.race == 0])
    assert result.test_statistic == pytest.approx(0.5761017, abs=1e-7)
    multi = multivariate_logrank_test(r.week, r.race, r.arrest)
    assert multi.test_statistic == pytest.approx(0.5761017, abs=1e-7)
    assert multi.degrees_freedom == 1


# ---- lifelines in the same run --------------------------------------------------------------

def _lifelines_cph(df, tight=True, **kwargs):
    """lifelines' fit; ``tight`` runs its Newton loop to convergence. With its defaults it
    stops once the log-likelihood changes by less than 1e-9 relative, which on penalised fits
    leaves the coefficients ~1e-6 short of the optimum (and z, p up to ~2e-4 off); cxlens
    iterates until the Newton step is below 1e-10, i.e. to the optimum itself."""
    import lifelines

    fit_kwargs = {k: kwargs.pop(k) for k in ("strata",) if k in kwargs}
    if tight:
        fit_kwargs["fit_options"] = {"precision": 1e-12, "r_precision": 1e-15}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lifelines.CoxPHFitter(**kwargs).fit(df, "week", "arrest", **fit_kwargs)


@needs_lifelines
def test_cox_matches_default_lifelines_every_cell(rossi):
    theirs = _lifelines_cph(rossi, tight=False)
    ours = CoxPHFitter().fit(rossi, duration_col="week", event_col="arrest")
    np.testing.assert_allclose(ours.summary.to_numpy(), theirs.summary.to_numpy(), rtol=0, atol=1e-6)


@needs_lifelines
@pytest.mark.parametrize("options", [{}, {"penalizer": 0.1}, {"penalizer": 0.01},
                                     {"strata": ["race"]}, {"strata": ["race", "mar"]}])
def test_cox_matches_lifelines_every_cell(rossi, options):
    theirs = _lifelines_cph(rossi, **dict(options))
    strata = options.get("strata")
    ours = CoxPHFitter(penalizer=options.get("penalizer", 0.0)).fit(
        rossi, duration_col="week", event_col="arrest", strata=strata)
    a, b = ours.summary, theirs.summary
    assert list(a.columns) == list(b.columns)
    assert list(a.index) == list(b.index)
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=0, atol=1e-6)
    assert ours.log_likelihood_ == pytest.approx(theirs.log_likelihood_, abs=1e-6)
    assert ours.concordance_index_ == pytest.approx(theirs.concordance_index_, abs=1e-12)
    assert ours.log_likelihood_ratio_test().test_statistic == pytest.approx(
        theirs.log_likelihood_ratio_test().test_statistic, abs=1e-5)
    bh_ours, bh_theirs = ours.baseline_hazard_, theirs.baseline_hazard_
    assert list(bh_ours.columns) == list(bh_theirs.columns)
    np.testing.assert_allclose(bh_ours.to_numpy(), bh_theirs.to_numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ours.baseline_survival_.to_numpy(),
                               theirs.baseline_survival_.to_numpy(), rtol=1e-6, atol=1e-9)
    rows = rossi.iloc[:5]
    np.testing.assert_allclose(ours.predict_partial_hazard(rows).to_numpy(),
                               theirs.predict_partial_hazard(rows).to_numpy(), rtol=1e-6)
    times = [0.5, 10, 20.5, 52, 60]
    sf_ours = ours.predict_survival_function(rows, times=times)
    sf_theirs = theirs.predict_survival_function(rows, times=times)[sf_ours.columns]  # strata reorder
    np.testing.assert_allclose(sf_ours.to_numpy(), sf_theirs.to_numpy(), rtol=1e-6, atol=1e-9)


@needs_lifelines
def test_km_and_na_match_lifelines():
    import lifelines

    df = load_waltons()
    for mask in (slice(None), df.group == "miR-137"):
        sub = df[mask]
        ours = KaplanMeierFitter().fit(sub["T"], sub["E"], label="x")
        theirs = lifelines.KaplanMeierFitter().fit(sub["T"], sub["E"], label="x")
        pd.testing.assert_frame_equal(ours.survival_function_, theirs.survival_function_,
                                      check_exact=False, rtol=1e-12)
        pd.testing.assert_frame_equal(ours.confidence_interval_, theirs.confidence_interval_,
                                      check_exact=False, rtol=1e-10)
        assert ours.median_survival_time_ == theirs.median_survival_time_
        pd.testing.assert_frame_equal(ours.event_table.astype(float),
                                      theirs.event_table.astype(float), check_exact=False)
        na_ours = NelsonAalenFitter().fit(sub["T"], sub["E"])
        na_theirs = lifelines.NelsonAalenFitter().fit(sub["T"], sub["E"])
        np.testing.assert_allclose(na_ours.cumulative_hazard_.to_numpy(),
                                   na_theirs.cumulative_hazard_.to_numpy(), rtol=1e-12)
    ours = logrank_test(df["T"][df.group == "miR-137"], df["T"][df.group == "control"],
                        df["E"][df.group == "miR-137"], df["E"][df.group == "control"])
    theirs = lifelines.statistics.logrank_test(
        df["T"][df.group == "miR-137"], df["T"][df.group == "control"],
        df["E"][df.group == "miR-137"], df["E"][df.group == "control"])
    assert ours.test_statistic == pytest.approx(theirs.test_statistic, rel=1e-12)
    assert ours.p_value == pytest.approx(theirs.p_value, rel=1e-9)


@needs_lifelines
def test_concordance_matches_lifelines_with_ties():
    from lifelines.utils import concordance_index as theirs

    rng = np.random.default_rng(3)
    t = rng.integers(1, 30, 2000).astype(float)
    e = rng.integers(0, 2, 2000)
    p = rng.integers(0, 50, 2000).astype(float)
    assert survival.concordance_index(t, p, e) == pytest.approx(theirs(t, p, e), abs=1e-12)


# ---- quickstarts by changing only the import ------------------------------------------------

def test_lifelines_quickstarts_run(capsys):
    matplotlib = pytest.importorskip("matplotlib", reason="the quickstarts plot with matplotlib")

    matplotlib.use("Agg")
    # KM quickstart
    df = load_waltons()
    T, E = df["T"], df["E"]
    kmf = KaplanMeierFitter()
    kmf.fit(T, event_observed=E)
    kmf.survival_function_
    kmf.cumulative_density_
    kmf.plot_survival_function()
    assert kmf.median_survival_time_ == 56.0
    from cxlens.compat.lifelines.utils import median_survival_times

    median_ci = median_survival_times(kmf.confidence_interval_)
    assert median_ci.shape == (1, 2)
    groups = df["group"]
    ix = groups == "miR-137"
    kmf.fit(T[~ix], E[~ix], label="control")
    ax = kmf.plot_survival_function()
    kmf.fit(T[ix], E[ix], label="miR-137")
    ax = kmf.plot_survival_function(ax=ax)
    results = logrank_test(T[ix], T[~ix], E[ix], E[~ix], alpha=0.99)
    results.print_summary()
    # Cox quickstart
    rossi = load_rossi()
    cph = CoxPHFitter()
    cph.fit(rossi, duration_col="week", event_col="arrest")
    cph.print_summary()
    cph.plot()
    X = rossi
    cph.predict_survival_function(X)
    cph.predict_median(X)
    cph.predict_partial_hazard(X)
    out = capsys.readouterr().out
    assert "partial log-likelihood = -658.75" in out
    assert "Concordance = 0.64" in out


# ---- bad input ------------------------------------------------------------------------------

def test_cox_bad_input(rossi):
    bad = rossi.copy()
    bad.loc[3, "week"] = -2
    with pytest.raises(cxlens.InvalidArgument, match="row 3"):
        survival.fit_cox(bad, "week", "arrest")
    bad = rossi.copy()
    bad["week"] = bad["week"].astype(float)
    bad.loc[4, "week"] = np.nan
    with pytest.raises(cxlens.InvalidArgument, match="NaN"):
        survival.fit_cox(bad, "week", "arrest")
    bad = rossi.copy()
    bad.loc[0, "arrest"] = 3
    with pytest.raises(ValueError, match="0 \\(censored\\) or 1"):
        survival.fit_cox(bad, "week", "arrest")
    with pytest.raises(cxlens.InvalidArgument, match="no events"):
        survival.fit_cox(rossi.assign(arrest=0), "week", "arrest")
    with pytest.raises(cxlens.InvalidArgument, match="'one' is constant"):
        survival.fit_cox(rossi.assign(one=1.0), "week", "arrest")
    collinear = rossi.assign(age_months=rossi.age * 12)
    with pytest.raises(cxlens.InvalidArgument, match="collinear") as info:
        survival.fit_cox(collinear, "week", "arrest")
    assert "'age'" in str(info.value) and "'age_months'" in str(info.value)
    with pytest.warns(UserWarning, match="collinear"):
        survival.fit_cox(collinear, "week", "arrest", penalizer=0.1)
    with pytest.warns(UserWarning, match="single level"):
        survival.fit_cox(rossi.assign(site=1), "week", "arrest", strata="site")
    with pytest.raises(cxlens.ColumnTypeError):
        survival.fit_cox(rossi.assign(name="x"), "week", "arrest")


def test_cox_perfect_separation(rossi):
    df = rossi[["week", "arrest", "age"]].astype(float)
    df["flag"] = ((df.arrest == 1) & (df.week < 20)).astype(float)
    df.loc[df.flag == 1, "week"] = 1 + np.arange((df.flag == 1).sum()) % 5
    df.loc[df.flag == 0, "week"] = 30 + df.loc[df.flag == 0, "week"] / 10
    with pytest.raises(cxlens.ConvergenceError, match="'flag'"):
        survival.fit_cox(df, "week", "arrest")
    fitted = survival.fit_cox(df, "week", "arrest", penalizer=0.01)
    assert np.isfinite(fitted.params).all()


def test_km_bad_input():
    with pytest.raises(cxlens.InvalidArgument):
        survival.kaplan_meier([1, -1, 2], [1, 0, 1])
    with pytest.raises(cxlens.InvalidArgument):
        survival.kaplan_meier([1, 2, 3], [1, 0, 0.5])
    with pytest.raises(cxlens.InvalidArgument):
        survival.logrank_test([1, 2, 3], [1, 1, 1], ["a", "a", "a"])


def test_event_counts_merge_any_split():
    rng = np.random.default_rng(5)
    t = rng.integers(0, 100, 10_000).astype(float)
    e = rng.integers(0, 2, 10_000)
    whole = survival.count_events(t, e)
    left = survival.count_events(t[:3000], e[:3000])
    left.merge(survival.count_events(t[3000:], e[3000:]))
    np.testing.assert_array_equal(whole.observed, left.observed)
    np.testing.assert_array_equal(whole.censored, left.censored)
    two = survival.count_events(t, e, threads=2)
    np.testing.assert_array_equal(whole.time, two.time)


# ---- cohorts --------------------------------------------------------------------------------

def _small_log():
    rows = [
        # ann: account Jan, closed in March; buys Jan and Mar
        ("ann", "2024-01-05", "web", "account_open"), ("ann", "2024-01-06", "web", "purchase"),
        ("ann", "2024-03-10", "web", "purchase"), ("ann", "2024-03-20", "web", "account_close"),
        # bob: account Jan, open throughout; buys Feb
        ("bob", "2024-01-20", "store", "account_open"), ("bob", "2024-02-02", "store", "purchase"),
        # cat: account Feb; buys Feb and Apr
        ("cat", "2024-02-11", "app", "account_open"), ("cat", "2024-02-12", "app", "purchase"),
        ("cat", "2024-04-01", "app", "purchase"),
    ]
    df = pd.DataFrame(rows, columns=["customer", "time", "channel", "event"])
    return cxlens.EventLog.from_pandas(df)


def test_cohort_retention_contractual_and_behavioural():
    log = _small_log()
    c = survival.cohort_retention(log, definition="contractual", period="month")
    assert list(c.index.strftime("%Y-%m")) == ["2024-01", "2024-02"]
    assert c.loc["2024-01-01", "size"] == 2
    # Jan cohort: both open at end of Jan and Feb; ann closed in March.
    assert c.loc["2024-01-01", [0, 1, 2, 3]].tolist() == [2, 2, 1, 1]
    assert c.loc["2024-02-01", [0, 1, 2]].tolist() == [1, 1, 1]
    assert np.isnan(c.loc["2024-02-01", 3])
    b = survival.cohort_retention(log, definition="behavioural", period="month",
                                  activity_kinds=["purchase"], rates=True)
    # Jan cohort: ann only (bob's first purchase is in February); she buys again in March.
    assert b.loc["2024-01-01", "size"] == 1
    assert b.loc["2024-01-01", [0, 1, 2]].tolist() == [1.0, 0.0, 1.0]
    # Feb cohort: bob and cat; only cat buys in April.
    assert b.loc["2024-02-01", "size"] == 2
    assert b.loc["2024-02-01", [0, 1, 2]].tolist() == [1.0, 0.0, 0.5]
    two = survival.cohort_retention(log, definition="behavioural", threads=2)
    pd.testing.assert_frame_equal(two, survival.cohort_retention(log, definition="behavioural"))


# ---- churn ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def world():
    return make_world(4000, seed=11)


def test_churn_features_table(world):
    log, _ = world
    f1 = survival.churn_features(log, day(270), threads=1)
    f2 = survival.churn_features(log, day(270), threads=2)
    pd.testing.assert_frame_equal(f1, f2)
    assert list(f1.columns) == survival.churn_feature_names()
    assert (f1["digital_share"] > 0).any() and (f1["unresolved_cases"] > 0).any()
    assert f1.index.dtype == np.int64


def test_planted_driver_ranks_first_and_beats_rfm(world):
    log, _ = world
    train = survival.churn_features(log, day(270))
    y_train = survival.churn_outcomes(log, train, day(270), 90)["churned"]
    test = survival.churn_features(log, day(365))
    y_test = survival.churn_outcomes(log, test, day(365), 90)["churned"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant features (no scores, no surveys) are reported
        model = survival.ChurnModel(l2=1.0).fit(train, y_train)
        rfm = survival.ChurnModel(l2=1.0, features=["recency_days", "frequency", "monetary"]).fit(train, y_train)
    full_eval = survival.evaluate_churn(model.predict_proba(test), y_test)
    rfm_eval = survival.evaluate_churn(rfm.predict_proba(test), y_test)
    assert full_eval["auc"] > rfm_eval["auc"] + 0.02
    assert full_eval["brier"] < rfm_eval["brier"]
    assert full_eval["calibration"]["count"].sum() == len(test)
    # The planted driver is one of the two strongest features (recency is the other: customers
    # who already left are the riskiest of all, and their first reason is recency).
    top2 = model.coefficients["coef_std"].abs().nlargest(2).index
    assert "unresolved_cases" in top2
    at_risk = model.at_risk(test, clv=pd.Series(100.0, index=test.index))
    assert at_risk["value_at_risk"].is_monotonic_decreasing
    rows = test.loc[at_risk.index]
    dormant = at_risk[rows["recency_days"] > 60]
    assert (dormant["reason_code_1"] == "recency_days").mean() > 0.9
    # Customers still buying (recency can't explain their risk) with the driver present:
    flagged = at_risk[(rows["recency_days"] < 30) & (rows["unresolved_cases"] > 0) & (at_risk["risk"] > 0.3)]
    assert len(flagged) > 50
    assert (flagged["reason_code_1"] == "unresolved_cases").mean() > 0.9
    assert flagged["reason_1"].iloc[0] == "has complaints that are still unresolved"
    np.testing.assert_allclose(at_risk["value_at_risk"], 100 * at_risk["risk"])
    two = model.at_risk(test, limit=200, threads=2)
    pd.testing.assert_frame_equal(two, model.at_risk(test, limit=200, threads=1))
    cox = survival.fit_churn_cox(train.drop(columns=["sentiment_trend", "survey_silence"]),
                                 survival.churn_outcomes(log, train, day(270), 90), penalizer=0.1)
    assert cox.params["unresolved_cases"] > 0


def test_cohort_heatmap_plots():
    matplotlib = pytest.importorskip("matplotlib", reason="the heatmap needs matplotlib")
    matplotlib.use("Agg")
    table = survival.cohort_retention(_small_log(), definition="contractual")
    ax = survival.plot_cohort_heatmap(table)
    assert ax.get_xlabel() == "periods since acquisition"
