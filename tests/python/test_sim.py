"""The simulated world from Python: tables, settings, determinism, planted truths."""

import numpy as np
import pandas as pd
import pytest

import cxlens


@pytest.fixture(scope="module")
def world():
    return cxlens.simulate(n_customers=4000, seed=11, threads=2)


def test_world_has_every_table(world):
    assert isinstance(world.event_log, cxlens.EventLog)
    assert world.event_log.n_customers == 4000
    assert len(world.truth) == 4000
    assert set(world.sources) == {"crm", "call_center", "web_app", "ecommerce", "survey_tool"}
    assert list(world.truth.person_id) == list(range(4000))
    assert str(world.truth.acquisition_time.dtype) == "datetime64[ns, UTC]"
    assert world.truth.alive_at_end.dtype == bool
    assert set(world.truth.engagement_tier.cat.categories) == {
        "consume_only", "occasional_contributor", "heavy_contributor"}
    events = world.events
    assert len(events) == len(world.event_log)
    assert events.time.min() >= world.start and events.time.max() < world.end
    assert set(events.channel.cat.categories) >= {"call_center", "app", "community"}
    crm = world.sources["crm"]
    assert {"record_id", "person_id", "first_name", "email", "phone", "created_at"} <= set(crm)
    assert crm.record_id.is_unique and set(crm.person_id) == set(range(4000))
    assert world.contact_points.consent.isin(["granted", "withdrawn", "unknown"]).all()
    assert world.contact_points.address_hash.dtype == np.uint64
    assert "World(4,000 customers" in repr(world)


def test_truth_matches_events(world):
    purchases = world.events[world.events.event == "purchase"].groupby("customer").size()
    repeats = world.truth.set_index("person_id").repeat_purchases  # customer key = person id
    assert (purchases.sort_index() == 1 + repeats.loc[purchases.index].sort_index()).all()
    dark = set(world.truth.person_id[world.truth.dark_matter])
    called = set(world.events.customer[world.events.channel == "call_center"])
    assert dark and not dark & called


def test_same_settings_same_world_whatever_the_threads():
    one = cxlens.simulate(n_customers=5000, seed=3, threads=1)
    two = cxlens.simulate(n_customers=5000, seed=3, threads=2)
    pd.testing.assert_frame_equal(one.events, two.events)
    pd.testing.assert_frame_equal(one.truth, two.truth)
    for name in one.sources:
        pd.testing.assert_frame_equal(one.sources[name], two.sources[name])
    pd.testing.assert_frame_equal(one.contact_points, two.contact_points)


def test_settings_by_dotted_name_short_name_or_group():
    world = cxlens.simulate(
        n_customers=300, seed=5, channel_shift_effect=0.0, purchases={"r": 0.7},
        settings={"dark_matter.share": 0.0}, start="2020-06-01")
    assert world.config["adoption.channel_shift_effect"] == 0.0
    assert world.config["purchases.r"] == 0.7
    assert world.planted["dark_matter_share"] == 0.0
    assert world.start == pd.Timestamp("2020-06-01", tz="UTC")
    assert not world.truth.dark_matter.any()
    assert world.truth.shifted_contacts.sum() == 0
    defaults = cxlens.simulation_settings()
    assert defaults["adoption.channel_shift_effect"] == 0.3
    assert isinstance(defaults["start"], pd.Timestamp)


def test_bad_settings_raise_typed_errors():
    with pytest.raises(cxlens.NotFound):
        cxlens.simulate(n_customers=10, no_such_setting=1)
    with pytest.raises(cxlens.InvalidArgument):
        cxlens.simulate(n_customers=10, dark_matter={"channel": "web"})
    with pytest.raises(cxlens.ColumnTypeError):
        cxlens.simulate(n_customers=10, seed="forty-two")
    with pytest.raises(ValueError):  # InvalidArgument is a ValueError too
        cxlens.simulate(n_customers=0)


def test_channel_shift_is_recoverable_by_difference_in_differences():
    world = cxlens.simulate(n_customers=30000, seed=8, threads=2, source_records=False)
    ev = world.events
    assisted = ev[(ev.event == "service_contact") & ev.channel.isin(["call_center", "store",
                                                                      "agent_chat"])]
    weeks = (assisted.time - world.start) / pd.Timedelta(weeks=1)
    adopters = set(world.truth.person_id[world.truth.adoption_time.notna()])
    adopter = assisted.customer.isin(adopters)
    pre = (weeks >= 39) & (weeks < 52)
    post = weeks >= 78
    ratio = lambda group: (post & group).sum() / 26 / ((pre & group).sum() / 13)  # noqa: E731
    effect = 1 - ratio(adopter) / ratio(~adopter)
    assert effect == pytest.approx(world.planted["channel_shift_effect"], abs=0.06)
