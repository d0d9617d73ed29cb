"""Instrument kinds: what a kind of measuring instrument brings to the ledger core.

The core (records, registry, platform, sync, bundles) knows only the trust anchor and
the parties every kind shares: the authority, operators and inspectors. Everything
about an instrument — a charging pile's meter and sessions, a fuel dispenser's
monitoring module and fuellings, a taxi meter's trips — arrives as one `RecordKind`,
registered once at start-up (`ledger/__init__.py` is the composition root). The
core's tables are then the union of the kinds' tables, so a record of any kind is
parsed, signed, checked for its signer and owner, and logged by the same code.

Why tables and not subclasses: the hot path (`ledger.records.parse_fields`, the
platform's ingest, the sync) looks a record type up in a dict once per entry; a
registered kind costs nothing there, and a kind's rules stay plain data a reviewer
can read in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Schema = dict[str, tuple[type, bool]]
"""field -> (python type, required); ``key`` fields hold PublicKey text."""


@dataclass(frozen=True)
class Ownership:
    """Who may sign a record an operator signs (`ledger.registry.Owners`).

    ``own`` is the record's own ID field when the record registers a thing an
    operator holds (a station, a pile, a dispenser); the authority may sign those too
    (a move between operators). ``parent`` is (record type, ID field) of the thing the
    record names, which must belong to the same operator."""

    own: str | None = None
    parent: tuple[str, str] | None = None


@dataclass(frozen=True)
class RecordKind:
    """The ledger side of one instrument kind (docs/architecture.md)."""

    name: str
    schemas: Mapping[str, Schema]
    signed_by: Mapping[str, str]
    """record type -> the signer: "authority", "operator", "inspector" or one of ``signers``."""
    signers: Mapping[str, str] = field(default_factory=dict)
    """signer name -> the ID field naming it in the records it signs; the registry record
    of the same name carries its public key in ``key`` (a pile's meter, a dispenser's
    monitoring module)."""
    enums: Mapping[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    owned: Mapping[str, Ownership] = field(default_factory=dict)
    """operator-signed record types and what they own or name."""
    int_lists: frozenset[tuple[str, str]] = frozenset()
    """(type, field) lists of plain integers the fast parser checks itself."""
    positive: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """record type -> integer fields that must be > 0 (checked on the fast path too)."""
    semantics: Callable[[str, Mapping[str, Any]], None] | None = None
    """Raises `ledger.records.RecordError` for a body that fits the schema but not the
    kind's meaning (nested lists, spans); called for this kind's types only."""
    subject_fields: tuple[str, ...] = ()
    """ID fields that name a record of this kind in an error message, most specific first."""


def site_schema() -> Schema:
    """A site an operator registers on the map (a charging station, a fuel station): the
    fields every kind's site record has."""
    return {
        "station_id": (str, True),
        "operator_id": (str, True),
        "name": (str, True),
        "district": (str, True),
        "lon_e6": (int, True),
        "lat_e6": (int, True),
        "address": (str, False),
        "at_ms": (int, True),
    }


class FeedError(ValueError):
    """A request a kind's signed feed cannot answer (HTTP 400; `FeedGone`: 410)."""


class FeedGone(FeedError):
    """The feed no longer keeps what was asked for (HTTP 410: fetch the full document)."""


@dataclass(frozen=True)
class SignedFeed:
    """A signed document a kind's platform serves beside the log (the taxi suspension list,
    docs/taxi-status.md): computed from the log's entries at a checkpoint and signed with
    the log's key, so a consumer can prove what it was told and recompute it.

    ``make(origin, signer)`` builds the feed once per platform; the feed's
    ``document(size, root, read_entries, since)`` returns the signed note's bytes or raises
    `FeedError`."""

    path: str
    make: Callable[[str, Any], Any]


FEEDS: dict[str, SignedFeed] = {}
"""Registered feeds by URL path (`register_feed`, from the composition root)."""


def register_feed(feed: SignedFeed) -> None:
    known = FEEDS.get(feed.path)
    if known is not None and known is not feed:
        raise KindError(f"a feed is already served at {feed.path}")
    FEEDS[feed.path] = feed


class KindError(ValueError):
    """A kind that would change or shadow another kind's record types."""
