"""The data model: channels, event kinds, offering dimensions, directions, consent.

These names are shared by every area; the C++ types live in ``include/cxlens/model/``.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import _core

__all__ = ["Channel", "CHANNEL_KINDS", "EVENT_KINDS", "OFFERING_DIMENSIONS", "DIRECTIONS",
           "CONSENT_STATES", "standard_channel_kind", "standard_event_kind"]

#: Kinds of channel: assisted (a person serves), self-service, outbound, community, unknown.
CHANNEL_KINDS = ("assisted", "self_service", "outbound", "community", "unknown")
#: Standard event kinds that analyses rely on (a business's own event names map onto these).
EVENT_KINDS = tuple(_core.event_kinds())
#: The four dimensions of what a business offers, and "none" for untagged events.
OFFERING_DIMENSIONS = ("none", "product", "service", "relationship", "transformation")
#: Who started an interaction.
DIRECTIONS = ("inbound", "outbound")
#: Consent for contact through a contact point; "unknown" is never treated as granted.
CONSENT_STATES = ("unknown", "granted", "withdrawn")

_STANDARD_CHANNELS = dict(_core.standard_channels())


@dataclass(frozen=True)
class Channel:
    """A channel declaration: name, kind and cost per contact (``None``: unknown).

    Kinds: ``assisted`` (call center, store, agent chat), ``self_service`` (web, app, IVR),
    ``outbound`` (email, SMS, push, mail), ``community``, ``unknown``.
    """

    name: str
    kind: str = "unknown"
    cost_per_contact: float | None = None


def standard_channel_kind(name: str) -> str:
    """The kind of a standard channel name (``"web"`` is self_service), else ``"unknown"``."""
    return _STANDARD_CHANNELS.get(name, "unknown")


def standard_event_kind(name: str) -> str:
    """The kind named ``name`` when it is a standard kind, else ``"other"``."""
    return name if name in EVENT_KINDS else "other"
