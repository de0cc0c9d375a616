"""lifetimes-compatible data preparation: transaction logs to RFM summaries.

Same names, signatures and output columns as ``lifetimes.utils``: purchases are first
collapsed to one per customer per period (``freq``), the first period is the customer's
birth, ``frequency`` counts the later periods with a purchase, ``recency`` is the time from
the first to the last such period and ``T`` from the first to the end of observation, both
in units of ``freq`` divided by ``freq_multiplier``. ``monetary_value`` is the mean of the
per-period totals after the first (0 when there is none).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["calibration_and_holdout_data", "summary_data_from_transaction_data"]


def _period_start(values: pd.Series | pd.Timestamp, freq: str):
    """Start of the ``freq`` period containing each timestamp."""
    if isinstance(values, pd.Series):
        return values.dt.to_period(freq).dt.to_timestamp()
    return values.to_period(freq).to_timestamp()


def _per_period(transactions: pd.DataFrame, customer_id_col: str, datetime_col: str,
                monetary_value_col: str | None, datetime_format: str | None,
                observation_period_end: pd.Timestamp, freq: str) -> pd.DataFrame:
    """One row per customer and period with a purchase (period start, summed value), up to and
    including the observation end, with a boolean 'first' marking each customer's first."""
    columns = [customer_id_col, datetime_col] + ([monetary_value_col] if monetary_value_col
                                                 else [])
    frame = transactions[columns].copy()
    frame[datetime_col] = _period_start(
        pd.to_datetime(frame[datetime_col], format=datetime_format), freq)
    frame = frame.loc[frame[datetime_col] <= observation_period_end]
    grouped = frame.groupby([customer_id_col, datetime_col], sort=True)
    if monetary_value_col:
        periods = grouped[monetary_value_col].sum().reset_index()
    else:
        periods = grouped.size().reset_index()[[customer_id_col, datetime_col]]
    periods["first"] = ~periods.duplicated(subset=[customer_id_col], keep="first")
    return periods


def summary_data_from_transaction_data(transactions, customer_id_col, datetime_col,
                                       monetary_value_col=None, datetime_format=None,
                                       observation_period_end=None, freq="D",
                                       freq_multiplier=1, include_first_transaction=False):
    """Per-customer frequency, recency, T (and monetary_value) from a transaction log.

    Returns a float DataFrame indexed by customer id, as lifetimes does.
    """
    if observation_period_end is None:
        observation_period_end = pd.to_datetime(transactions[datetime_col],
                                                format=datetime_format).max()
    else:
        observation_period_end = pd.to_datetime(observation_period_end, format=datetime_format)
    if isinstance(observation_period_end, pd.Period):
        observation_period_end = observation_period_end.to_timestamp()
    observation_period_end = _period_start(observation_period_end, freq)

    periods = _per_period(transactions, customer_id_col, datetime_col, monetary_value_col,
                          datetime_format, observation_period_end, freq)
    by_customer = periods.groupby(customer_id_col, sort=True)[datetime_col]
    customers = by_customer.agg(["min", "max", "count"])
    unit = np.timedelta64(1, freq) if freq in ("D", "h", "H", "m", "s", "W") else None
    if unit is None:
        # Calendar units (months, years) have no fixed length; count whole periods instead.
        span = lambda a, b: (b.dt.to_period(freq) - a.dt.to_period(freq)).apply(  # noqa: E731
            lambda d: d.n).astype(float)
        customers["T"] = span(customers["min"], pd.Series(observation_period_end,
                                                          index=customers.index))
        customers["recency"] = span(customers["min"], customers["max"])
    else:
        if freq == "H":
            unit = np.timedelta64(1, "h")
        customers["T"] = (observation_period_end - customers["min"]) / unit
        customers["recency"] = (customers["max"] - customers["min"]) / unit
    customers["T"] = customers["T"] / freq_multiplier
    customers["recency"] = customers["recency"] / freq_multiplier
    customers["frequency"] = customers["count"] - (0 if include_first_transaction else 1)
    columns = ["frequency", "recency", "T"]
    if monetary_value_col:
        values = periods if include_first_transaction else periods.loc[~periods["first"]]
        mean = values.groupby(customer_id_col)[monetary_value_col].mean()
        customers["monetary_value"] = mean.reindex(customers.index).fillna(0)
        columns.append("monetary_value")
    return customers[columns].astype(float)


def calibration_and_holdout_data(transactions, customer_id_col, datetime_col,
                                 calibration_period_end, observation_period_end=None, freq="D",
                                 freq_multiplier=1, datetime_format=None,
                                 monetary_value_col=None, include_first_transaction=False):
    """Calibration-period summary (columns suffixed ``_cal``) joined with the holdout
    period's ``frequency_holdout`` (periods with a purchase), ``monetary_value_holdout`` (mean
    transaction value) and ``duration_holdout``, as lifetimes does."""
    if observation_period_end is None:
        observation_period_end = transactions[datetime_col].max()
    columns = [customer_id_col, datetime_col] + ([monetary_value_col] if monetary_value_col
                                                 else [])
    frame = transactions[columns].copy()
    frame[datetime_col] = pd.to_datetime(frame[datetime_col], format=datetime_format)
    observation_period_end = pd.to_datetime(observation_period_end, format=datetime_format)
    calibration_period_end = pd.to_datetime(calibration_period_end, format=datetime_format)

    calibration = frame.loc[frame[datetime_col] <= calibration_period_end]
    summary = summary_data_from_transaction_data(
        calibration, customer_id_col, datetime_col, datetime_format=datetime_format,
        observation_period_end=calibration_period_end, freq=freq,
        freq_multiplier=freq_multiplier, monetary_value_col=monetary_value_col,
        include_first_transaction=include_first_transaction)
    summary.columns = [c + "_cal" for c in summary.columns]

    holdout = frame.loc[(frame[datetime_col] > calibration_period_end)
                        & (frame[datetime_col] <= observation_period_end)].copy()
    if holdout.empty:
        raise ValueError("There is no data available. Check the `observation_period_end` and "
                         "`calibration_period_end` and confirm that values in `transactions` "
                         "occur prior to those dates.")
    holdout["_period"] = holdout[datetime_col].dt.to_period(freq)
    counts = (holdout.drop_duplicates([customer_id_col, "_period"])
              .groupby(customer_id_col).size().rename("frequency_holdout"))
    combined = summary.join(counts.to_frame(), how="left")
    if monetary_value_col:
        combined = combined.join(
            holdout.groupby(customer_id_col)[monetary_value_col].mean()
            .rename("monetary_value_holdout").to_frame(), how="left")
    combined = combined.fillna(0)
    delta = (observation_period_end.to_period(freq) - calibration_period_end.to_period(freq)).n
    combined["duration_holdout"] = delta / freq_multiplier
    return combined
