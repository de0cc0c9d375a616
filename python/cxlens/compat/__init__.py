"""Drop-in replacements for established libraries' APIs, computed by cxlens.

Each module keeps the reference library's names, arguments and output shapes so existing code
can switch by changing an import:

* :mod:`cxlens.compat.lifetimes`: ``BetaGeoFitter``, ``ModifiedBetaGeoFitter``,
  ``ParetoNBDFitter``, ``BetaGeoBetaBinomFitter``, ``GammaGammaFitter`` and ``utils``.
* :mod:`cxlens.compat.lifelines`: ``CoxPHFitter``, ``KaplanMeierFitter`` and
  ``statistics.logrank_test``.
* :mod:`cxlens.compat.pm4py`: ``discover_dfg``, ``get_variants``, ``get_start_activities``,
  ``get_end_activities`` (process mining on a DataFrame).
* :mod:`cxlens.compat.channelattribution`: ``markov_model``, ``heuristic_models`` (multi-touch
  attribution on a path table), with exact removal effects instead of simulated ones.

No reference code is included; the reference libraries are not needed at run time.
"""
