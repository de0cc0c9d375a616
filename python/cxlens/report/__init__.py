"""``cxlens report``: from raw multichannel source tables to a customer-lens report.

See :mod:`cxlens.report._contract` for the hand-over between reading inputs and analysing them.
"""

from ._contract import Note, ReportInputs, Stage, Stages

__all__ = ["Note", "ReportInputs", "Stage", "Stages"]
