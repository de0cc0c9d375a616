"""Buy-till-you-die retention models: who is still a customer, and what will they buy.

Models (all fitted by maximum likelihood in C++ on a compressed histogram of unique
(frequency, recency, T) rows, so a fit costs milliseconds):

* :class:`BgNbd` - BG/NBD (Fader, Hardie & Lee 2005).
* :class:`MbgNbd` - MBG/NBD (Batislam, Denizel & Filiztekin 2007).
* :class:`ParetoNbd` - Pareto/NBD (Schmittlein, Morrison & Colombo 1987).
* :class:`BgBb` - discrete-time BG/BB (Fader, Hardie & Shang 2010).
* :class:`GammaGamma` - spend per transaction (Fader, Hardie & Lee 2005), and customer
  lifetime value with lifetimes' discounted-cash-flow convention.

Inputs follow lifetimes' RFM summary: ``frequency`` (repeat purchases x), ``recency``
(t_x, time of the last purchase since the first), ``T`` (age), optionally ``weights``
(number of customers per row). Use :class:`RfmHistogram` to build the input in chunks
(``add`` ... ``merge``) and fit on it directly, and :func:`rfm` to get the summary straight
from a :class:`cxlens.EventLog`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

import numpy as np
import pandas as pd

from . import _core

_native = _core.retention

__all__ = [
    "BgBb",
    "BgNbd",
    "FitResult",
    "GammaGamma",
    "MbgNbd",
    "ParetoNbd",
    "RfmHistogram",
    "SpendHistogram",
    "rfm",
]


def _column(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise _core.InvalidArgument(f"retention: '{name}' must be 1-d")
    return np.ascontiguousarray(array)


class RfmHistogram:
    """Mergeable compressed histogram of (frequency, recency, T) rows with weights.

    ``add`` validates and adds rows (a bad row raises :class:`cxlens.InvalidArgument` and
    leaves the histogram unchanged), ``merge`` combines histograms built on separate chunks,
    and every model's ``fit`` accepts a histogram. ``discrete=True`` is for BG/BB, where
    recency and T are whole numbers of periods.
    """

    def __init__(self, discrete: bool = False) -> None:
        self._native = _native.RfmHistogram(discrete)

    @classmethod
    def from_summary(cls, frequency: Any, recency: Any, T: Any, weights: Any = None,
                     discrete: bool = False) -> "RfmHistogram":
        """A histogram of the given columns."""
        histogram = cls(discrete)
        histogram.add(frequency, recency, T, weights)
        return histogram

    def add(self, frequency: Any, recency: Any, T: Any, weights: Any = None) -> "RfmHistogram":
        """Adds rows; returns self."""
        w = None if weights is None else _column(weights, "weights")
        self._native.add(_column(frequency, "frequency"), _column(recency, "recency"),
                         _column(T, "T"), w)
        return self

    def merge(self, other: "RfmHistogram") -> "RfmHistogram":
        """Adds another histogram's rows; returns self."""
        if not isinstance(other, RfmHistogram):
            raise _core.InvalidArgument("retention: an RfmHistogram merges only with another "
                                        "RfmHistogram")
        self._native.merge(other._native)
        return self

    @property
    def unique_rows(self) -> int:
        """Number of distinct (frequency, recency, T) patterns."""
        return int(self._native.unique_rows)

    @property
    def input_rows(self) -> int:
        """Number of rows added."""
        return int(self._native.input_rows)

    @property
    def discrete(self) -> bool:
        """Whether this is a discrete-time (BG/BB) histogram."""
        return bool(self._native.discrete)

    def to_frame(self) -> pd.DataFrame:
        """The distinct patterns and their weights, sorted."""
        return pd.DataFrame(self._native.cells())

    def to_bytes(self) -> bytes:
        """Compact versioned bytes (kind ``retention.rfm_histogram``): 32 bytes per distinct
        pattern; equal histograms give equal bytes whatever order rows were added in."""
        return self._native.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> "RfmHistogram":
        """The histogram :meth:`to_bytes` wrote. Bytes of another summary kind (another model)
        or another format version raise :class:`cxlens.InvalidArgument`."""
        histogram = cls.__new__(cls)
        histogram._native = _native.RfmHistogram.from_bytes(bytes(data))
        return histogram

    def __reduce__(self):
        return (RfmHistogram.from_bytes, (self.to_bytes(),))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RfmHistogram) and self.to_bytes() == other.to_bytes()

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        kind = "discrete" if self.discrete else "continuous"
        return (f"RfmHistogram({self.input_rows:,} rows, {self.unique_rows:,} patterns, "
                f"{kind})")


class SpendHistogram:
    """Mergeable histogram of repeat buyers' (frequency, mean spend) pairs with weights: the
    Gamma-Gamma model's input, built in chunks like :class:`RfmHistogram`.

    ``add`` validates (frequency a positive whole number, monetary value positive; a bad row
    raises :class:`cxlens.InvalidArgument` and adds nothing); :meth:`GammaGamma.fit` accepts
    a histogram.
    """

    def __init__(self) -> None:
        self._native = _native.SpendHistogram()

    def add(self, frequency: Any, monetary_value: Any, weights: Any = None) -> "SpendHistogram":
        """Adds repeat buyers; returns self."""
        w = None if weights is None else _column(weights, "weights")
        self._native.add(_column(frequency, "frequency"),
                         _column(monetary_value, "monetary_value"), w)
        return self

    def merge(self, other: "SpendHistogram") -> "SpendHistogram":
        """Adds another histogram's rows; returns self."""
        if not isinstance(other, SpendHistogram):
            raise _core.InvalidArgument("retention: a SpendHistogram merges only with another "
                                        "SpendHistogram")
        self._native.merge(other._native)
        return self

    @property
    def unique_rows(self) -> int:
        """Number of distinct (frequency, monetary value) pairs."""
        return int(self._native.unique_rows)

    @property
    def input_rows(self) -> int:
        """Number of rows added."""
        return int(self._native.input_rows)

    def to_frame(self) -> pd.DataFrame:
        """The distinct pairs and their weights, sorted."""
        return pd.DataFrame(self._native.cells())

    def to_bytes(self) -> bytes:
        """Compact versioned bytes (kind ``retention.spend_histogram``)."""
        return self._native.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> "SpendHistogram":
        """The histogram :meth:`to_bytes` wrote; other kinds or versions raise
        :class:`cxlens.InvalidArgument`."""
        histogram = cls.__new__(cls)
        histogram._native = _native.SpendHistogram.from_bytes(bytes(data))
        return histogram

    def __reduce__(self):
        return (SpendHistogram.from_bytes, (self.to_bytes(),))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SpendHistogram) and self.to_bytes() == other.to_bytes()

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"SpendHistogram({self.input_rows:,} rows, {self.unique_rows:,} pairs)"


class FitResult:
    """A maximum-likelihood fit: estimates, standard errors, 95% bounds and convergence.

    ``summary`` has lifetimes' columns: coef, se(coef), lower 95% bound, upper 95% bound.
    ``log_likelihood`` is the weighted sum over customers (no penalty). When ``converged``
    is False, ``reason`` says why (for example every frequency is zero). ``summary`` and
    ``covariance`` are built on first access.
    """

    def __init__(self, native: dict) -> None:
        self._native = native
        self.names: list[str] = list(native["names"])
        self.params: dict[str, float] = dict(zip(self.names, map(float, native["estimate"])))
        self.log_likelihood = float(native["log_likelihood"])
        self.objective = float(native["objective"])
        self.converged = bool(native["converged"])
        self.reason = str(native["reason"])
        self.iterations = int(native["iterations"])
        self.gradient_norm = float(native["gradient_norm"])
        self.unique_rows = int(native["unique_rows"])
        self._summary: pd.DataFrame | None = None
        self._covariance: pd.DataFrame | None = None

    @property
    def summary(self) -> pd.DataFrame:
        """coef, se(coef), lower 95% bound, upper 95% bound per parameter."""
        if self._summary is None:
            d = self._native
            self._summary = pd.DataFrame(
                {
                    "coef": d["estimate"],
                    "se(coef)": d["standard_error"],
                    "lower 95% bound": d["lower_95"],
                    "upper 95% bound": d["upper_95"],
                },
                index=pd.Index(self.names),
            )
        return self._summary

    @property
    def covariance(self) -> pd.DataFrame:
        """Covariance matrix of the estimates."""
        if self._covariance is None:
            self._covariance = pd.DataFrame(np.asarray(self._native["covariance"]),
                                            index=self.names, columns=self.names)
        return self._covariance

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v:.6g}" for k, v in self.params.items())
        return (f"FitResult({params}, log_likelihood={self.log_likelihood:.6f}, "
                f"converged={self.converged}, reason={self.reason!r})")


def _histogram(data: Any, frequency: Any, recency: Any, T: Any, weights: Any,
               discrete: bool) -> RfmHistogram:
    if isinstance(data, RfmHistogram):
        if data.discrete != discrete:
            raise _core.InvalidArgument(
                "retention: BG/BB needs RfmHistogram(discrete=True); the other models a "
                "continuous one")
        return data
    if data is not None:
        frame = data
        frequency = frame["frequency"]
        recency = frame["recency"]
        T = frame["periods" if discrete and "periods" in frame else "T"]
        if weights is None and "weights" in frame:
            weights = frame["weights"]
    if frequency is None or recency is None or T is None:
        raise _core.InvalidArgument("retention: give a histogram, a frame, or frequency, "
                                    "recency and T")
    return RfmHistogram.from_summary(frequency, recency, T, weights, discrete)


@dataclass
class _TransactionModel:
    """Shared behaviour of the transaction models; use the subclasses."""

    params: dict[str, float]
    fit_result: FitResult | None = field(default=None, repr=False)

    _model: ClassVar[str] = ""
    _names: ClassVar[tuple[str, ...]] = ()
    _discrete: ClassVar[bool] = False

    @classmethod
    def fit(cls, data: Any = None, *, frequency: Any = None, recency: Any = None, T: Any = None,
            weights: Any = None, penalizer: float = 0.0,
            initial_params: Sequence[float] | None = None, tolerance: float = 1e-7,
            max_iterations: int = 1000, strict: bool = False):
        """Fits by maximum likelihood.

        ``data`` is an :class:`RfmHistogram` or a frame with columns frequency, recency, T
        (BG/BB: periods) and optionally weights; or pass the columns as keywords.
        ``penalizer`` is lifetimes' ``penalizer_coef``. With ``strict=True`` a fit that does
        not converge raises :class:`cxlens.ConvergenceError`; otherwise check
        ``fit_result.converged`` and ``fit_result.reason``.
        """
        histogram = _histogram(data, frequency, recency, T, weights, cls._discrete)
        initial = None if initial_params is None else [float(v) for v in initial_params]
        result = FitResult(
            _native.fit(cls._model, histogram._native, float(penalizer), initial,
                        float(tolerance), int(max_iterations), bool(strict)))
        return cls(result.params, result)

    @classmethod
    def from_params(cls, **params: float):
        """A model with given parameters (no fit)."""
        missing = [n for n in cls._names if n not in params]
        if missing:
            raise _core.InvalidArgument(f"retention: missing parameters {missing}")
        return cls({n: float(params[n]) for n in cls._names})

    def _vector(self) -> list[float]:
        return [float(self.params[n]) for n in self._names]

    def log_likelihood(self, data: Any = None, *, frequency: Any = None, recency: Any = None,
                       T: Any = None, weights: Any = None) -> float:
        """Weighted log-likelihood of data under these parameters."""
        histogram = _histogram(data, frequency, recency, T, weights, self._discrete)
        return float(_native.log_likelihood(self._model, self._vector(), histogram._native))

    def expected_purchases(self, t: Any) -> np.ndarray:
        """Expected repeat purchases in (0, t] for a new customer (BG/BB: first t periods)."""
        return _native.expected_purchases(self._model, self._vector(), _column(t, "t"))

    def probability_of_purchases(self, t: float, n: Any) -> np.ndarray:
        """P(X(t) = n) for a new customer."""
        return _native.probability_of_purchases(self._model, self._vector(), float(t),
                                                _column(n, "n"))


@dataclass
class _ContinuousModel(_TransactionModel):
    def probability_alive(self, frequency: Any, recency: Any, T: Any,
                          threads: int = 0) -> np.ndarray:
        """P(alive) per customer."""
        return _native.probability_alive(self._model, self._vector(),
                                         _column(frequency, "frequency"),
                                         _column(recency, "recency"), _column(T, "T"), 1.0,
                                         int(threads))

    def conditional_expected_purchases(self, t: float, frequency: Any, recency: Any, T: Any,
                                       threads: int = 0) -> np.ndarray:
        """Expected repeat purchases in the next t per customer."""
        return _native.conditional_expected_purchases(
            self._model, self._vector(), float(t), _column(frequency, "frequency"),
            _column(recency, "recency"), _column(T, "T"), int(threads))


@dataclass
class BgNbd(_ContinuousModel):
    """BG/NBD: parameters r, alpha (purchase rates), a, b (dropout after each purchase)."""

    _model: ClassVar[str] = "bg_nbd"
    _names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")


@dataclass
class MbgNbd(_ContinuousModel):
    """MBG/NBD: BG/NBD that also allows dropout right after the first purchase."""

    _model: ClassVar[str] = "mbg_nbd"
    _names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")


@dataclass
class ParetoNbd(_ContinuousModel):
    """Pareto/NBD: parameters r, alpha (purchase rates), s, beta (dropout rates)."""

    _model: ClassVar[str] = "pareto_nbd"
    _names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")


@dataclass
class BgBb(_TransactionModel):
    """Discrete-time BG/BB: alpha, beta (transaction probability), gamma, delta (dropout)."""

    _model: ClassVar[str] = "bg_bb"
    _names: ClassVar[tuple[str, ...]] = ("alpha", "beta", "gamma", "delta")
    _discrete: ClassVar[bool] = True

    def probability_alive(self, future_periods: float, frequency: Any, recency: Any,
                          periods: Any, threads: int = 0) -> np.ndarray:
        """P(alive in period n + future_periods) per customer."""
        return _native.probability_alive(self._model, self._vector(),
                                         _column(frequency, "frequency"),
                                         _column(recency, "recency"),
                                         _column(periods, "periods"), float(future_periods),
                                         int(threads))

    def conditional_expected_purchases(self, future_periods: float, frequency: Any,
                                       recency: Any, periods: Any,
                                       threads: int = 0) -> np.ndarray:
        """Expected transactions in the next future_periods periods per customer."""
        return _native.conditional_expected_purchases(
            self._model, self._vector(), float(future_periods), _column(frequency, "frequency"),
            _column(recency, "recency"), _column(periods, "periods"), int(threads))


@dataclass
class GammaGamma:
    """Gamma-Gamma spend model: parameters p, q, v (v is gamma in Fader, Hardie & Lee)."""

    params: dict[str, float]
    fit_result: FitResult | None = field(default=None, repr=False)

    _names: ClassVar[tuple[str, ...]] = ("p", "q", "v")

    @classmethod
    def fit(cls, frequency: Any, monetary_value: Any = None, weights: Any = None, *,
            penalizer: float = 0.0, initial_params: Sequence[float] | None = None,
            tolerance: float = 1e-7, max_iterations: int = 1000,
            strict: bool = False) -> "GammaGamma":
        """Fits on repeat buyers (frequency > 0, monetary value > 0), given as columns or as a
        :class:`SpendHistogram` (the first argument)."""
        initial = None if initial_params is None else [float(v) for v in initial_params]
        if isinstance(frequency, SpendHistogram):
            result = FitResult(
                _native.fit_gamma_gamma_histogram(frequency._native, float(penalizer), initial,
                                                  float(tolerance), int(max_iterations),
                                                  bool(strict)))
            return cls(result.params, result)
        if monetary_value is None:
            raise _core.InvalidArgument("retention: give frequency and monetary_value columns "
                                        "or a SpendHistogram")
        w = None if weights is None else _column(weights, "weights")
        result = FitResult(
            _native.fit_gamma_gamma(_column(frequency, "frequency"),
                                    _column(monetary_value, "monetary_value"), w,
                                    float(penalizer), initial, float(tolerance),
                                    int(max_iterations), bool(strict)))
        return cls(result.params, result)

    @classmethod
    def from_params(cls, p: float, q: float, v: float) -> "GammaGamma":
        """A model with given parameters (no fit)."""
        return cls({"p": float(p), "q": float(q), "v": float(v)})

    def _vector(self) -> list[float]:
        return [float(self.params[n]) for n in self._names]

    def conditional_expected_average_spend(self, frequency: Any, monetary_value: Any,
                                           threads: int = 0) -> np.ndarray:
        """Expected mean transaction value per customer (shrunk toward the population mean)."""
        return _native.conditional_expected_average_spend(
            self._vector(), _column(frequency, "frequency"),
            _column(monetary_value, "monetary_value"), int(threads))

    def customer_lifetime_value(self, transactions: _ContinuousModel, frequency: Any,
                                recency: Any, T: Any, monetary_value: Any, months: int = 12,
                                discount_rate: float = 0.01, freq: str = "D",
                                threads: int = 0) -> np.ndarray:
        """CLV with lifetimes' convention: monthly steps, monthly discount rate, ``freq`` the
        time unit of the transaction model's data ('H', 'D', 'W' or 'M')."""
        if not isinstance(transactions, _ContinuousModel):
            raise _core.InvalidArgument(
                "retention: customer_lifetime_value needs a BG/NBD, MBG/NBD or Pareto/NBD model")
        return _native.customer_lifetime_value(
            transactions._model, transactions._vector(), self._vector(),
            _column(frequency, "frequency"), _column(recency, "recency"), _column(T, "T"),
            _column(monetary_value, "monetary_value"), int(months), float(discount_rate),
            str(freq), int(threads))


_PERIODS = {"D": "1D", "W": "7D", "h": "1h", "H": "1h", "min": "1min", "s": "1s"}


def rfm(log: Any, period: str | pd.Timedelta = "D", *, observation_end: Any = None,
        calibration_end: Any = None, origin: Any = None,
        purchase_events: Sequence[str] | None = None) -> pd.DataFrame:
    """Per-customer RFM summary straight from a :class:`cxlens.EventLog`.

    Follows lifetimes' ``summary_data_from_transaction_data`` (and, with ``calibration_end``,
    ``calibration_and_holdout_data``): purchases in the same ``period`` count once with their
    values summed; ``frequency`` is the number of repeat purchase periods, ``recency`` and ``T``
    are measured in periods from the first purchase, ``monetary_value`` is the mean value of the
    repeat periods (0 without repeats).

    Parameters
    ----------
    log : the event log; purchases are events whose kind is ``purchase`` unless
        ``purchase_events`` names the event types to use.
    period : ``"D"``, ``"W"``, ``"h"``, ``"min"``, ``"s"`` or a ``pd.Timedelta``: granularity and
        unit of recency and T.
    observation_end : last time considered (default: the log's last event).
    calibration_end : when given, the summary describes the calibration window and the columns
        ``frequency_holdout``, ``monetary_value_holdout`` and ``duration_holdout`` the rest.
    origin : where periods start (default: the Unix epoch, midnight UTC).

    Returns a DataFrame indexed by customer key; customers without a purchase by the end of
    calibration are left out (their number is in ``df.attrs["customers_without_purchases"]``).
    """
    from .store import EventLog

    if not isinstance(log, EventLog):
        raise TypeError("rfm() needs a cxlens.EventLog")
    step = pd.Timedelta(_PERIODS.get(period, period)) if isinstance(period, str) else pd.Timedelta(period)
    types = []
    if purchase_events is not None:
        names = list(log.event_types["event"])
        for name in purchase_events:
            if name not in names:
                raise _core.NotFound(f"event type {name!r} is not in the event log")
            types.append(names.index(name))

    def ns(value: Any) -> int | None:
        if value is None:
            return None
        stamp = pd.Timestamp(value)
        return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).value

    out = _native.rfm_from_event_log(log._native, step.value, ns(origin) or 0,
                                     ns(observation_end), ns(calibration_end), types)
    index = log.customers.take(out["customer"].astype(np.int64))
    columns = {"frequency": out["frequency"], "recency": out["recency"], "T": out["T"],
               "monetary_value": out["monetary_value"]}
    if calibration_end is not None:
        columns["frequency_holdout"] = out["frequency_holdout"]
        columns["monetary_value_holdout"] = out["monetary_value_holdout"]
        columns["duration_holdout"] = np.full(len(index), out["duration_holdout"])
    frame = pd.DataFrame(columns, index=index)
    frame.attrs["customers_without_purchases"] = int(out["customers_without_purchases"])
    return frame
