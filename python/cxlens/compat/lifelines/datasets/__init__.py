"""The lifelines example data sets used by its quickstarts (MIT, Cameron Davidson-Pilon;
see tests/data/SOURCES.md): ``load_rossi`` and ``load_waltons``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

_HERE = Path(__file__).resolve().parent

__all__ = ["load_rossi", "load_waltons"]


def load_rossi() -> pd.DataFrame:
    """Rossi et al. (1980) recidivism data: 432 rows, week, arrest, fin, age, race, wexp, mar,
    paro, prio."""
    return pd.read_csv(_HERE / "rossi.csv")


def load_waltons() -> pd.DataFrame:
    """Drosophila lifetimes: 163 rows, T, E, group."""
    return pd.read_csv(_HERE / "waltons_dataset.csv")
