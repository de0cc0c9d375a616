"""``cxlens report``: from raw multichannel source tables to a customer-lens report.

See :mod:`cxlens.report._contract` for the hand-over between reading inputs and analysing them,
:func:`build_report` (:mod:`cxlens.report.analyses`) for the analyses and :func:`write_report`
(:mod:`cxlens.report.html`) for the HTML report and its tables.
"""

from ._contract import Note, ReportInputs, Stage, Stages
from .analyses import Figure, Report, Section, build_report
from .html import write_report
from .options import ReportOptions

__all__ = ["Figure", "Note", "Report", "ReportInputs", "ReportOptions", "Section", "Stage",
           "Stages", "build_report", "write_report"]
