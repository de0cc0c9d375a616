"""RFM straight from an EventLog equals lifetimes' conventions (our compat utils, themselves
checked against lifetimes) on the same transactions, and feeds the models."""

import numpy as np
import pandas as pd
import pytest

import cxlens
from cxlens.compat.lifetimes import utils


@pytest.fixture(scope="module")
def world():
    return cxlens.simulate(n_customers=3000, seed=11)


def purchases_of(world):
    events = world.events
    return events[events.event == "purchase"][["customer", "time", "value"]]


def test_rfm_from_event_log_matches_transaction_summary(world):
    end = pd.Timestamp("2024-12-01", tz="UTC")
    got = cxlens.retention.rfm(world.event_log, "D", observation_end=end)
    tx = purchases_of(world)
    tx = tx[tx.time <= end].assign(time=lambda d: d.time.dt.tz_localize(None))
    expected = utils.summary_data_from_transaction_data(
        tx, "customer", "time", monetary_value_col="value",
        observation_period_end=end.tz_localize(None), freq="D")
    got = got.sort_index()
    assert list(got.index) == list(expected.index)
    for column in ["frequency", "recency", "T", "monetary_value"]:
        np.testing.assert_allclose(got[column].to_numpy(), expected[column].to_numpy(),
                                   rtol=1e-12, atol=1e-9, err_msg=column)


def test_calibration_and_holdout_match(world):
    # Period boundaries: weeks count from the epoch, a Thursday; both ends close a week.
    one = pd.Timedelta(1, "ns")
    cal = pd.Timestamp("2024-06-27", tz="UTC") - one
    end = pd.Timestamp("2024-11-28", tz="UTC") - one
    got = cxlens.retention.rfm(world.event_log, "W", calibration_end=cal, observation_end=end)
    tx = purchases_of(world).assign(time=lambda d: d.time.dt.tz_localize(None))
    week_origin = pd.Timestamp("1970-01-01")
    # Our weeks start on the epoch's weekday; give lifetimes the same periods via day counts.
    tx["time"] = week_origin + ((tx.time - week_origin) // pd.Timedelta("7D")) * pd.Timedelta("7D")
    expected = utils.calibration_and_holdout_data(
        tx, "customer", "time", calibration_period_end=cal.tz_localize(None),
        observation_period_end=end.tz_localize(None), freq="D", freq_multiplier=7,
        monetary_value_col="value")
    got = got.sort_index()
    assert list(got.index) == list(expected.index)
    np.testing.assert_allclose(got.frequency, expected.frequency_cal)
    np.testing.assert_allclose(got.frequency_holdout, expected.frequency_holdout)
    np.testing.assert_allclose(got.monetary_value_holdout, expected.monetary_value_holdout)


def test_rfm_feeds_a_bg_nbd_fit_that_recovers_the_planted_parameters():
    world = cxlens.simulate(n_customers=30_000, seed=5)
    summary = cxlens.retention.rfm(world.event_log, "D")
    model = cxlens.retention.BgNbd.fit(summary)
    assert model.fit_result.converged
    # The world's purchases follow BG/NBD with time in weeks; in days alpha is 7 times larger.
    planted = {name: world.config[f"purchases.{name}"] for name in ("r", "alpha", "a", "b")}
    planted["alpha"] *= 7
    for name, value in planted.items():
        assert model.params[name] == pytest.approx(value, rel=0.1), name


def test_rfm_bad_input():
    world = cxlens.simulate(n_customers=200, seed=1)
    with pytest.raises(cxlens.InvalidArgument):
        cxlens.retention.rfm(world.event_log, pd.Timedelta(0))
    with pytest.raises(KeyError):
        cxlens.retention.rfm(world.event_log, purchase_events=["no such event"])
    with pytest.raises(ValueError):
        cxlens.retention.rfm(world.event_log, calibration_end="2030-01-01",
                             observation_end="2024-01-01")
    with pytest.raises(TypeError):
        cxlens.retention.rfm(world.events)
