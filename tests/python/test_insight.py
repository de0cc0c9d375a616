"""cxlens.insight on simulated worlds: each analysis recovers what the world planted, finds
nothing where nothing was planted, returns pandas, plots, and fails clearly on bad requests."""

import numpy as np
import pandas as pd
import pytest

import cxlens
from cxlens import insight

# Dark matter is identifiable when everyone has a phone, consent is mostly known and customers
# call often enough that two years without a call means something.
IDENTIFIABLE = {
    "service.contact_rate": 0.3,
    "service.rate_shape": 4.0,
    "service.preference_concentration.call_center": 4.0,
    "consent.has_phone": 1.0,
    "consent.call_granted": 0.9,
    "consent.call_withdrawn": 0.05,
}


@pytest.fixture(scope="module")
def world():
    return cxlens.simulate(n_customers=40_000, seed=5, threads=2, source_records=False)


def test_dark_matter_precision_and_recall():
    world = cxlens.simulate(n_customers=40_000, seed=8, threads=2, source_records=False,
                            settings=IDENTIFIABLE)
    result = insight.dark_matter(world, channels=["call_center"])
    found = result.customers["invisible_call_center"].to_numpy()
    truth = world.truth["dark_matter"].to_numpy()
    precision = (found & truth).sum() / found.sum()
    recall = (found & truth).sum() / truth.sum()
    assert precision >= 0.95 and recall >= 0.95, (precision, recall)
    row = result.summary.loc["call_center"]
    assert row["share"] == pytest.approx(world.planted["dark_matter_share"], rel=0.1)
    assert row["mean_revenue"] > row["mean_revenue_visible"]  # dark matter buys more often
    assert bool(row["consent_known"])
    assert {"period_start", "share"} <= set(result.over_time.columns)


def test_dark_matter_none_planted():
    world = cxlens.simulate(n_customers=20_000, seed=8, threads=2, source_records=False,
                            settings={**IDENTIFIABLE, "dark_matter.share": 0.0})
    result = insight.dark_matter(world, channels=["call_center"])
    assert result.summary.loc["call_center", "share"] < 0.005


def test_dark_matter_inputs_and_unknown_consent(world):
    clv = pd.Series(10.0, index=world.event_log.customers)
    result = insight.dark_matter(world, clv=clv)
    assert set(result.summary.index) == {"call_center", "store", "agent_chat"}
    row = result.summary.loc["call_center"]
    assert row["clv"] == pytest.approx(10.0 * row["invisible"])
    without = insight.dark_matter(world.event_log)  # no contact points: consent unknown
    assert not without.summary["consent_known"].any()
    assert (without.summary["invisible"] >= result.summary["invisible"]).all()
    assert any("consent unknown" in line for line in without.used)


def test_channel_shift_recovers_the_planted_effect(world):
    result = insight.channel_shift(world)
    effect = result.estimates.loc["effect"]
    planted = world.planted["channel_shift_effect"]
    assert effect["lower"] <= planted <= effect["upper"], effect
    assert result.rates.loc["adopters", "post"] < result.rates.loc["adopters", "pre"]
    assert result.groups["adopter"] > 0
    assert result.decomposition.loc["digital", "change"] > 0
    assert set(result.customers["group"].cat.categories) >= {"adopter", "control"}
    # The truth's adoption dates as an input give the same picture.
    adoption = world.truth.set_index("person_id")["adoption_time"]
    given = insight.channel_shift(world, adoption_time=adoption, replicates=50)
    assert given.effect == pytest.approx(result.effect, abs=0.02)
    assert given.used[0] == "adoption: given per customer"
    calendar = insight.channel_shift(world, design="calendar", confidence=0.99, replicates=100)
    row = calendar.estimates.loc["effect"]
    assert row["lower"] <= planted <= row["upper"]
    assert calendar.pre_weeks == pytest.approx(13, abs=0.1) and result.design == "event_time"


def test_channel_shift_intervals_cover_the_truth():
    # A 95% interval misses 1 time in 20: over 10 worlds with and 10 without an effect, the
    # planted value (0.3, then 0) is inside at least 8 times each.
    covered = {0.3: 0, 0.0: 0}
    for seed in range(1, 11):
        for effect in covered:
            world = cxlens.simulate(n_customers=20_000, seed=seed, threads=2,
                                    source_records=False, channel_shift_effect=effect)
            row = insight.channel_shift(world, replicates=100).estimates.loc["effect"]
            covered[effect] += bool(row["lower"] <= effect <= row["upper"])
    assert covered[0.3] >= 8 and covered[0.0] >= 8, covered


def test_channel_shift_finds_nothing_without_an_effect():
    world = cxlens.simulate(n_customers=40_000, seed=5, threads=2, source_records=False,
                            channel_shift_effect=0.0)
    result = insight.channel_shift(world)
    effect = result.estimates.loc["effect"]
    assert effect["lower"] <= 0.0 <= effect["upper"], effect
    substitution = result.estimates.loc["substitution_weekly"]
    assert substitution["lower"] <= 0.0 <= substitution["upper"]


def test_engagement_recovers_the_revenue_ratio(world):
    result = insight.engagement_tiers(world)
    ratio = result.ratios.loc["engaged_revenue_ratio"]
    planted = world.planted["engaged_revenue_ratio"]
    assert ratio["lower"] <= planted <= ratio["upper"], ratio
    assert result.tiers.loc["consume_only", "share"] == pytest.approx(0.9, abs=0.03)
    assert result.tiers.loc["heavy_contributor", "post_share"] > 0.5
    loyal = result.ratios.loc["loyal_repurchase_ratio"]
    assert loyal["lower"] <= 1.0 <= loyal["upper"]  # nothing planted
    flags = pd.Series(world.truth["alive_at_end"].to_numpy(), index=world.event_log.customers)
    given = insight.engagement_tiers(world, loyal=flags, replicates=20)
    assert given.used[-1] == "loyalty: given per customer"


def test_engagement_ratio_one_when_none_planted():
    world = cxlens.simulate(n_customers=40_000, seed=5, threads=2, source_records=False,
                            engaged_revenue_ratio=1.0)
    ratio = insight.engagement_tiers(world).ratios.loc["engaged_revenue_ratio"]
    assert ratio["lower"] <= 1.0 <= ratio["upper"]


def test_feedback_recovers_the_fatigue_slope(world):
    result = insight.feedback(world)
    slope = result.fit.loc["slope"]
    assert result.converged
    assert slope["lower"] <= world.planted["survey_fatigue_slope"] <= slope["upper"], slope
    intercept = result.fit.loc["intercept"]
    assert intercept["lower"] <= world.planted["survey_response_intercept"] <= intercept["upper"]
    assert list(result.channels.index) == ["email"]
    assert result.sentiment.loc["detractor", "complaints"] > result.sentiment.loc[
        "promoter", "complaints"]


def test_service_metrics(world):
    result = insight.service_metrics(world)
    channels = result.channels
    resolved = channels["cases_resolved"].sum() / channels["cases_opened"].sum()
    assert resolved == pytest.approx(0.85, abs=0.03)
    assert (channels["first_contact_resolution"] > 0.5).all()


def test_offering_dimensions(world):
    result = insight.offering_dimensions(world)
    assert result.coverage.loc["product", "share"] == pytest.approx(1.0)
    assert result.coverage.loc["transformation", "share"] == pytest.approx(0.08, abs=0.01)
    rows = result.next_steps[(result.next_steps["next"] == "transformation") &
                             result.next_steps["supported"]]
    assert len(rows) > 0
    # Coaching is not planted to change spending: its lift intervals hold 0.
    assert ((rows["value_lift_lower"] <= 0) & (rows["value_lift_upper"] >= 0)).all()
    recommended = result.customers[result.customers["recommended"] != "none"]
    assert (recommended["expected_lift"] > 0).all()


def test_channel_preference(world):
    result = insight.channel_preference(world, outreach_kinds=["message_sent"])
    assert result.channels.loc["email", "response_rate"] == pytest.approx(0.3, abs=0.03)
    assert np.isnan(result.channels.loc["store", "reachable"])  # no consent data: unknown
    truth = world.truth.set_index("person_id")
    preferred = result.customers["preferred"].astype(str)
    for channel in ["call_center", "web"]:
        chosen = preferred == channel
        others = truth.loc[~chosen.to_numpy(), f"preference_{channel}"].mean()
        assert truth.loc[chosen.to_numpy(), f"preference_{channel}"].mean() > 1.5 * others
    assert result.totals["customers"] == world.event_log.n_customers


def test_profitability_costs_and_unknown_cost(world):
    result = insight.profitability(world)
    channels = world.event_log.channels.set_index("channel")
    for name, row in result.channels.iterrows():
        assert row["cost"] == pytest.approx(row["contacts"] * channels.loc[name, "cost_per_contact"])
    assert result.whale_curve["profit_share"].iloc[-1] == pytest.approx(1.0)
    assert result.totals["peak_profit_share"] >= 1.0
    assert len(result.journeys) > 0
    frame = pd.DataFrame({
        "customer": ["a", "a", "b", "b"],
        "time": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-03"]),
        "channel": ["web", "call_center", "web", "chat"],
        "event": ["purchase", "service_contact", "purchase", "service_contact"],
        "value": [100.0, 0.0, 40.0, 0.0],
    })
    log = cxlens.EventLog.from_pandas(frame, value="value", channels={
        "web": {"kind": "self_service", "cost_per_contact": 0.1},
        "call_center": {"kind": "assisted", "cost_per_contact": 5.0},
        "chat": {"kind": "assisted"}})
    small = insight.profitability(log)
    assert small.customers.loc["a", "margin"] == pytest.approx(95.0)
    assert np.isnan(small.customers.loc["b", "margin"])  # chat's cost is unknown, not 0
    assert np.isnan(small.channels.loc["chat", "cost"])
    assert small.totals["customers_unknown"] == 1


def test_bad_requests(world):
    with pytest.raises(cxlens.NotFound):
        insight.dark_matter(world, channels=["pigeon_post"])
    with pytest.raises(KeyError):  # NotFound is a KeyError too
        insight.channel_shift(world, adoption_channels=["teleport"])
    with pytest.raises(cxlens.InvalidArgument):
        insight.profitability(world, window=("1990-01-01", "1991-01-01"))
    with pytest.raises(ValueError):
        insight.dark_matter(world, clv=np.ones(3))
    with pytest.raises(cxlens.InvalidArgument):
        insight.channel_shift(world, pre=(world.start, world.start + pd.Timedelta(weeks=4)))


def test_results_do_not_depend_on_threads(world):
    one = insight.channel_shift(world, threads=1, replicates=50)
    two = insight.channel_shift(world, threads=2, replicates=50)
    pd.testing.assert_frame_equal(one.estimates, two.estimates)
    a = insight.dark_matter(world, threads=1)
    b = insight.dark_matter(world, threads=2)
    pd.testing.assert_frame_equal(a.summary, b.summary)


def test_plots(world):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    for result in (insight.dark_matter(world), insight.channel_shift(world, replicates=20),
                   insight.channel_preference(world), insight.offering_dimensions(world),
                   insight.engagement_tiers(world, replicates=20), insight.profitability(world),
                   insight.feedback(world), insight.service_metrics(world)):
        ax = result.plot()
        assert ax.get_title()
        assert result.used
        plt.close("all")
