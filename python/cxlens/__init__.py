"""cxlens: see the customers a business cannot see.

cxlens turns raw interaction events from every channel (call center, store, web, app, SMS,
email, community) into one view of each customer, journey graphs and retention scores. The
C++ core does the work; this package is a thin pandas-in, pandas-out layer over it.

Start with :class:`EventLog` (ingest and validate events) and :func:`simulate` (a synthetic
multichannel world with known ground truth); :mod:`cxlens.retention` fits buy-till-you-die
models (and :mod:`cxlens.compat.lifetimes` is a drop-in for the ``lifetimes`` package);
:mod:`cxlens.insight` answers the questions behind cxlens (dark matter, channel shift, ...) and
:mod:`cxlens.engage` plans outreach.
"""

from ._core import (
    ColumnTypeError,
    ConvergenceError,
    Error,
    IngestError,
    InvalidArgument,
    NotFound,
    __version__,
    hash_identity_key,
    hash_identity_key64,
)
from . import engage, identity, insight, journey, retention, survival
from .model import Channel
from .sim import World, simulate, simulation_settings
from .store import EventLog, EventLogBuilder, RejectionReport

__all__ = [
    "__version__",
    "Channel",
    "ColumnTypeError",
    "ConvergenceError",
    "Error",
    "EventLog",
    "EventLogBuilder",
    "IngestError",
    "InvalidArgument",
    "NotFound",
    "RejectionReport",
    "World",
    "engage",
    "insight",
    "hash_identity_key",
    "hash_identity_key64",
    "identity",
    "journey",
    "retention",
    "simulate",
    "simulation_settings",
    "survival",
]
