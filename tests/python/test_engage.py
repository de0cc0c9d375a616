"""cxlens.engage.plan_outreach: property tests over random worlds and options (no plan ever
breaks consent, a cap, quiet hours, a capacity or a budget), reasons, skip counts, errors."""

import numpy as np
import pandas as pd
import pytest

import cxlens
from cxlens import engage, insight


def check_plan(plan, world, *, per_channel, per_customer, cap_days, count_history, quiet,
               offset_minutes, weekends, channels):
    contacts = plan.contacts
    points = world.contact_points
    # Consent: some contact point of that customer and channel granted at or before the time.
    granted = points[points["consent"] == "granted"][["customer", "channel", "consent_time"]]
    joined = contacts.reset_index().merge(
        granted.assign(channel=granted["channel"].astype(str)),
        left_on=["customer", contacts["channel"].astype(str)],
        right_on=["customer", "channel"], how="left", suffixes=("", "_point"))
    ok = joined["consent_time"].notna() & (joined["consent_time"] <= joined["time"])
    assert ok.groupby(joined["index"]).any().all(), "a contact without consent"
    # Quiet hours and weekends, in local time.
    local = contacts["time"] + pd.Timedelta(minutes=offset_minutes)
    hour = local.dt.hour + local.dt.minute / 60
    quiet_from, quiet_to = quiet
    if quiet_from != quiet_to:
        if quiet_to < quiet_from:
            assert ((hour >= quiet_to) & (hour < quiet_from)).all()
        else:
            assert ((hour < quiet_from) | (hour >= quiet_to)).all()
    if not weekends:
        assert (local.dt.day_of_week < 5).all()
    assert ((contacts["time"] >= plan.start) & (contacts["time"] < plan.end)).all()
    # Caps over any window, history included.
    window = pd.Timedelta(days=cap_days)
    events = world.events
    history = events[(events["direction"] == "outbound") &
                     events["channel"].astype(str).isin([c["name"] for c in channels]) &
                     (events["time"] < plan.start) & (events["time"] > plan.start - window)]
    planned = contacts[["customer", "channel", "time"]].assign(planned=True)
    past = history[["customer", "channel", "time"]].assign(planned=False) if count_history else \
        planned.iloc[:0]
    both = pd.concat([planned.assign(channel=planned["channel"].astype(str)),
                      past.assign(channel=past["channel"].astype(str))])
    both = both[both["customer"].isin(set(planned["customer"]))]

    def worst(frame, keys):
        # The most events in any window of the cap's length that holds a planned contact, per
        # group: groups and times folded into one sorted integer axis (microseconds).
        group = frame.groupby(keys, observed=True, sort=False).ngroup().to_numpy(np.int64)
        micros = (pd.to_datetime(frame["time"], utc=True).dt.tz_localize(None)
                  .to_numpy(dtype="datetime64[us]").astype(np.int64))
        span = window.value // 1000
        axis = group * (micros.max() - micros.min() + 2 * span + 1) + (micros - micros.min())
        order = np.argsort(axis, kind="stable")
        axis = axis[order]
        planned_before = np.concatenate([[0], np.cumsum(frame["planned"].to_numpy()[order])])
        starts = np.arange(len(axis))
        ends = np.searchsorted(axis, axis + span, side="left")
        holds_planned = planned_before[ends] - planned_before[starts] > 0
        return int(np.where(holds_planned, ends - starts, 0).max())

    if len(both):
        assert worst(both, ["customer", "channel"]) <= per_channel
        assert worst(both, ["customer"]) <= per_customer
    # Capacity, agent hours and budget.
    day = local.dt.floor("D")
    for spec in channels:
        mine = contacts["channel"].astype(str) == spec["name"]
        per_day = contacts[mine].groupby(day[mine]).size()
        if spec.get("daily_capacity"):
            assert (per_day <= spec["daily_capacity"]).all()
        if spec.get("daily_agent_hours"):
            assert (per_day * spec["minutes_per_contact"] <= spec["daily_agent_hours"] * 60 + 1e-6).all()
        if spec.get("budget") is not None:
            assert contacts.loc[mine, "cost"].sum() <= spec["budget"] + 1e-9
    assert plan.customers_planned + plan.skipped.sum() == plan.candidates
    assert contacts["reason"].str.len().gt(0).all()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_plan_breaks_a_constraint(seed):
    world = cxlens.simulate(n_customers=3000, seed=seed, threads=2, source_records=False)
    rng = np.random.default_rng(seed)
    for _ in range(3):
        channels = []
        for name in ["email", "sms", "call_center"]:
            if rng.random() < 0.25:
                continue
            spec = {"name": name, "response_rate": float(rng.uniform(0.01, 0.3))}
            if rng.random() < 0.5:
                spec["daily_capacity"] = int(rng.integers(1, 40))
            if name == "call_center":
                spec["minutes_per_contact"] = float(rng.integers(5, 25))
                spec["daily_agent_hours"] = float(rng.uniform(0.5, 4))
            if rng.random() < 0.5:
                spec["budget"] = float(rng.uniform(0, 50))
            channels.append(spec)
        channels = channels or [{"name": "email"}]
        options = dict(
            per_channel=int(rng.integers(1, 4)), per_customer=int(rng.integers(1, 5)),
            cap_days=float(rng.integers(1, 15)), count_history=bool(rng.random() < 0.75),
            quiet=(int(rng.integers(0, 24)), int(rng.integers(0, 24))),
            offset_minutes=int(rng.integers(-720, 720)), weekends=bool(rng.random() < 0.5))
        start = world.start + pd.Timedelta(weeks=float(rng.uniform(1, 100)))
        n = world.event_log.n_customers
        risk = rng.uniform(size=n)
        risk[rng.random(n) < 0.05] = np.nan
        preferred = rng.choice(["email", "sms", "call_center", "web"], size=n)
        plan = engage.plan_outreach(
            world, start=start, days=float(rng.integers(7, 50)), channels=channels, risk=risk,
            value=rng.uniform(0, 500, size=n), preferred_channel=preferred,
            per_channel=options["per_channel"], per_customer=options["per_customer"],
            cap_window_days=options["cap_days"], count_history=options["count_history"],
            quiet_hours=options["quiet"], utc_offset_minutes=options["offset_minutes"],
            weekends=options["weekends"], touches=int(rng.integers(1, 4)),
            spacing_days=float(rng.integers(1, 10)))
        check_plan(plan, world, channels=channels, **options)
        assert plan.skipped["unknown_score"] > 0


def test_plan_uses_other_analyses_and_says_why():
    world = cxlens.simulate(n_customers=5000, seed=4, threads=2, source_records=False)
    preference = insight.channel_preference(world)
    dimensions = insight.offering_dimensions(world)
    start = world.end - pd.Timedelta(weeks=4)
    plan = engage.plan_outreach(
        world, start=start, channels={"email": {"response_rate": 0.04},
                                      "sms": {"response_rate": 0.08, "daily_capacity": 100}},
        preferred_channel=pd.Series("sms", index=world.event_log.customers),
        offer=dimensions.customers["recommended"], offer_lift=dimensions.customers["expected_lift"],
        touches=2)
    assert len(plan.contacts) > 0
    assert plan.contacts["reason"].str.contains("preferred channel sms").any()
    assert plan.contacts["reason"].str.contains("preferred channel has no consent").any()
    assert (plan.contacts["offer"] != "none").any()
    assert plan.used[0].startswith("risk: not given")
    assert plan.skipped["no_consent"] > 0
    assert set(plan.channels.index) == {"email", "sms"}
    assert preference.channels.loc["sms", "consent_known"]
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    assert plan.plot().get_title().startswith("Outreach plan")


def test_no_consent_data_means_no_contact_and_errors_are_typed():
    world = cxlens.simulate(n_customers=500, seed=2, source_records=False)
    start = world.end - pd.Timedelta(weeks=2)
    plan = engage.plan_outreach(world.event_log, start=start, channels=["email"])
    assert len(plan.contacts) == 0
    assert plan.skipped["no_consent"] == plan.candidates
    with pytest.raises(cxlens.NotFound):
        engage.plan_outreach(world, start=start, channels=["carrier_pigeon"])
    with pytest.raises(cxlens.InvalidArgument):
        engage.plan_outreach(world, start=start, channels=[{"name": "email",
                                                             "response_rate": 2.0}])
    frame = pd.DataFrame({"customer": ["a"], "time": pd.to_datetime(["2024-01-01"]),
                          "channel": ["letters"], "event": ["purchase"]})
    log = cxlens.EventLog.from_pandas(frame, channels={"letters": "outbound"})
    with pytest.raises(cxlens.InvalidArgument):  # a budget needs a known cost
        engage.plan_outreach(log, start="2024-02-01", channels=[{"name": "letters", "budget": 10}])


def test_the_checker_catches_broken_plans():
    world = cxlens.simulate(n_customers=2000, seed=9, threads=2, source_records=False)
    channels = [{"name": "email"}, {"name": "sms"}]
    options = dict(per_channel=1, per_customer=2, cap_days=7.0, count_history=True,
                   quiet=(21, 8), offset_minutes=0, weekends=True)
    plan = engage.plan_outreach(world, start=world.end - pd.Timedelta(weeks=3), channels=channels)
    check_plan(plan, world, channels=channels, **options)
    assert len(plan.contacts) > 0
    contacts = plan.contacts
    broken = [
        pd.concat([contacts, contacts.iloc[:1]], ignore_index=True),  # a cap broken
        contacts.assign(time=contacts["time"].dt.floor("D") + pd.Timedelta(hours=23)),  # quiet
        contacts.assign(time=contacts["time"] - pd.Timedelta(weeks=200)),  # before consent
    ]
    for frame in broken:
        plan.contacts = frame
        with pytest.raises(AssertionError):
            check_plan(plan, world, channels=channels, **options)
