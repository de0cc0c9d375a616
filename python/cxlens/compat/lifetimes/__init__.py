"""A drop-in for the ``lifetimes`` package (0.11), backed by cxlens.retention.

Replace ``import lifetimes`` with ``from cxlens.compat import lifetimes``: the fitters
(``BetaGeoFitter``, ``ModifiedBetaGeoFitter``, ``ParetoNBDFitter``,
``BetaGeoBetaBinomFitter``, ``GammaGammaFitter``) and ``utils`` keep lifetimes' names,
signatures, ``params_`` and ``summary``. See :mod:`.fitters` for the deliberate differences.
"""

from . import utils
from .fitters import (
    BetaGeoBetaBinomFitter,
    BetaGeoFitter,
    GammaGammaFitter,
    ModifiedBetaGeoFitter,
    ParetoNBDFitter,
)

__all__ = [
    "BetaGeoBetaBinomFitter",
    "BetaGeoFitter",
    "GammaGammaFitter",
    "ModifiedBetaGeoFitter",
    "ParetoNBDFitter",
    "utils",
]
