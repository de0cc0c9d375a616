"""Drop-ins for ChannelAttribution's ``markov_model`` and ``heuristic_models``.

::

    from cxlens.compat.channelattribution import markov_model, heuristic_models
    Data = pd.read_csv("Data.csv", sep=";")
    heuristic_models(Data, "path", "total_conversions", var_value="total_conversion_value")
    markov_model(Data, "path", "total_conversions", var_value="total_conversion_value",
                 var_null="total_null", order=2, out_more=True)

Same names, arguments and output shapes as ChannelAttribution's Python package (channel
order: first appearance; column names as there). Differences, all documented:

* Removal effects are computed **exactly** on the absorbing Markov chain (a linear solve per
  channel) instead of by simulation, so ``nsim_start``, ``max_step``, ``ncore``, ``nfold``,
  ``seed``, ``conv_par`` and ``rate_step_sim`` are accepted and ignored, results do not depend
  on a seed and are not truncated at a step cap. The simulation's estimates agree within their
  sampling error.
* ``transition_matrix`` names states by their channels (``"alpha"``, or ``"alpha > beta"`` for
  order 2) rather than by internal numeric codes.
* Bad rows (empty steps from stray separators, conversions on a path without channels,
  negative counts) are dropped, counted and reported in a warning rather than passed on.
  ``collapse_repeats`` (default True, as ChannelAttribution does) can turn off the merging of
  consecutive identical states.
* No banner is printed (``flg_pro`` and ``verbose`` are accepted and ignored).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from .. import _core
from .._core import InvalidArgument

__all__ = ["markov_model", "heuristic_models"]


def _check(Data: Any, var_path: Any, var_conv: Any, var_value: Any = None,
           var_null: Any = None, sep: str = ">") -> None:
    if not isinstance(Data, pd.DataFrame):
        raise InvalidArgument("Data must be a DataFrame")
    if not isinstance(var_path, str) or var_path not in Data.columns:
        raise InvalidArgument("var_path must be a column of Data")
    if not isinstance(var_conv, str) or var_conv not in Data.columns:
        raise InvalidArgument("var_conv must be a column of Data")
    if var_value is not None and var_value not in Data.columns:
        raise InvalidArgument("var_value must be a column of Data")
    if var_null is not None and var_null not in Data.columns:
        raise InvalidArgument("var_null must be a column of Data")
    if not isinstance(sep, str) or len(sep) != 1:
        raise InvalidArgument("sep must have length 1")


def _paths(Data: pd.DataFrame, var_path: str, var_conv: str, var_value: str | None,
           var_null: str | None, sep: str):
    texts = Data[var_path].astype("string").fillna("").tolist()
    conv = np.ascontiguousarray(Data[var_conv].to_numpy(dtype=np.float64, na_value=np.nan))
    value = None if var_value is None else np.ascontiguousarray(
        Data[var_value].to_numpy(dtype=np.float64, na_value=np.nan))
    null = None if var_null is None else np.ascontiguousarray(
        Data[var_null].to_numpy(dtype=np.float64, na_value=np.nan))
    table, report = _core.parse_paths(texts, conv, value, null, sep, "collect", [])
    skipped = []
    if report["empty_steps"]:
        skipped.append(f"{report['empty_steps']} empty steps (stray separators) dropped")
    if report["empty_paths"]:
        skipped.append(f"{report['empty_paths']} paths without channels skipped "
                       f"({report['conversions_without_touchpoints']:g} conversions)")
    if report["negative_rows"]:
        skipped.append(f"{report['negative_rows']} rows with negative or missing counts skipped")
    if skipped:
        warnings.warn("; ".join(skipped), stacklevel=3)
    return table


def heuristic_models(Data: pd.DataFrame, var_path: str, var_conv: str, var_value: str | None = None,
                     sep: str = ">", flg_pro: bool = True) -> pd.DataFrame:
    """First-touch, last-touch and linear attribution, as ChannelAttribution's
    ``heuristic_models``: columns ``channel_name, first_touch, last_touch, linear_touch``, or
    with ``var_value`` the ``*_conversions`` and ``*_value`` pairs."""
    del flg_pro
    _check(Data, var_path, var_conv, var_value, None, sep)
    table = _paths(Data, var_path, var_conv, var_value, None, sep)
    d = _core.heuristic_models(table)
    channels = list(table.channels)
    first, last, linear = d["first_touch"], d["last_touch"], d["linear"]
    if var_value is None:
        return pd.DataFrame({"channel_name": channels, "first_touch": first["conversions"],
                             "last_touch": last["conversions"],
                             "linear_touch": linear["conversions"]})
    return pd.DataFrame({"channel_name": channels,
                         "first_touch_conversions": first["conversions"],
                         "first_touch_value": first["value"],
                         "last_touch_conversions": last["conversions"],
                         "last_touch_value": last["value"],
                         "linear_touch_conversions": linear["conversions"],
                         "linear_touch_value": linear["value"]})


def markov_model(Data: pd.DataFrame, var_path: str, var_conv: str, var_value: str | None = None,
                 var_null: str | None = None, order: int = 1, nsim_start: float = 1e5,
                 max_step: int | None = None, out_more: bool = False, sep: str = ">",
                 ncore: int = 1, nfold: int = 10, seed: int = 0, conv_par: float = 0.05,
                 rate_step_sim: float = 1.5, verbose: bool = True, flg_pro: bool = True, *,
                 collapse_repeats: bool = True) -> pd.DataFrame | dict[str, pd.DataFrame]:
    """Markov-chain attribution, as ChannelAttribution's ``markov_model`` but exact.

    Returns a DataFrame ``channel_name, total_conversions[, total_conversion_value]``; with
    ``out_more=True`` a dict with ``result``, ``transition_matrix`` (``channel_from,
    channel_to, transition_probability``) and ``removal_effects`` (``channel_name,
    removal_effect``, or ``removal_effects_conversion, removal_effects_conversion_value`` with
    ``var_value``). Without ``var_null`` only converting paths are used, as there.
    """
    del nsim_start, ncore, nfold, seed, conv_par, rate_step_sim, verbose, flg_pro
    _check(Data, var_path, var_conv, var_value, var_null, sep)
    if int(order) < 1:
        raise InvalidArgument("order must be >= 1")
    if int(order) > 4:
        raise InvalidArgument("order must be <= 4 (exact removal effects)")
    if max_step is not None and max_step < 1:
        raise InvalidArgument("max_step must be >= 1")
    if not (Data[var_conv] > 0).any():
        raise InvalidArgument("Data must have at least one converting path.")
    if var_null is None:
        Data = Data[Data[var_conv] > 0]
    table = _paths(Data, var_path, var_conv, var_value, var_null, sep)
    d = _core.markov_model(table, int(order), collapse_repeats, bool(out_more))
    channels = list(d["channel"])
    result = pd.DataFrame({"channel_name": channels, "total_conversions": d["conversions"]})
    if var_value is not None:
        result["total_conversion_value"] = d["value"]
    if not out_more:
        return result
    matrix = pd.DataFrame({"channel_from": d["transition_from"], "channel_to": d["transition_to"],
                           "transition_probability": d["transition_probability"]})
    if var_value is None:
        effects = pd.DataFrame({"channel_name": channels, "removal_effect": d["removal_effects"]})
    else:
        effects = pd.DataFrame({"channel_name": channels,
                                "removal_effects_conversion": d["removal_effects"],
                                "removal_effects_conversion_value": d["value_removal_effects"]})
    return {"result": result, "transition_matrix": matrix, "removal_effects": effects}
