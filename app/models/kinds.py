"""The workstation side of an instrument kind: how its records reach the store and its
rules (docs/architecture.md).

The sync, projection and analysis are the core; a kind plugs in with one
`ProjectionKind`: the record types it projects, the tables holding its signers' keys
(so the sync can rebuild the signer registry), the tables holding what its operators
own (so the sync can re-check who may sign what), a function writing a batch's records
of its types, a function running its rules on a synced batch and, for a kind whose rules
can re-derive everything, a full rescan of the store (`main.py rescan`). Kinds register
at start-up in `app/models/__init__.py` (the composition root); the core imports no kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, Table

if TYPE_CHECKING:
    from app.models.findings import Closure, Finding
    from app.models.projection import BatchSummary
    from app.models.store import Store

Items = list[tuple[int, Mapping[str, Any]]]
"""(entry index, record body) in entry order."""


@dataclass(frozen=True)
class ProjectionKind:
    name: str
    record_types: frozenset[str]
    apply: Callable[[Connection, Mapping[str, Items], BatchSummary], None]
    """Writes one batch's records of ``record_types`` (grouped by type, in entry order),
    inside the sync's transaction; adds what changed to the summary."""
    key_tables: Sequence[tuple[Table, str, str]] = ()
    """(table, ID column, signer) for each signer of this kind: the table has a ``key``
    column with the signer's current public key text."""
    owner_tables: Mapping[str, tuple[Table, str]] = field(default_factory=dict)
    """owned record type -> (table, ID column); the table has ``operator_id``."""
    analyse: Callable[[Connection, BatchSummary, list[Closure]], list[Finding]] | None = None
    """The kind's rules over a synced batch: stores and returns the new findings, and adds
    the stored findings the batch disproved (closed) to the list it is given, so the core
    resolves their alarms."""
    rescan: Rescan | None = None
    """Every rule of the kind over the whole store (`app.models.rules_cli`): stores and
    returns the new findings and adds the stored ones it no longer derives (closed) to
    ``closed``. ``chunks`` and ``workers`` are hints (None: the kind chooses)."""
    registry_types: frozenset[str] = frozenset()
    """The kind's registry record types (things, not events): a batch holding one of
    them reports ``BatchSummary.registry_changed``, so rules re-check what it names."""
    rebuild_facts: Callable[[Connection], None] | None = None
    """Recomputes the kind's derived analysis tables from its projection tables in this
    store (a field package copies projection rows, then its rescan needs the facts)."""
    rescan_by_month: Rescan | None = None
    """The same findings as ``rescan``, one worker process per month (partition) of an
    office's partitioned PostgreSQL store (`main.py rescan --by-month`; app.models.partitions)."""


class Rescan(Protocol):
    def __call__(
        self,
        store: Store,
        *,
        chunks: int | None = None,
        workers: int = 1,
        closed: list[Closure] | None = None,
    ) -> list[Finding]: ...


PROJECTIONS: dict[str, ProjectionKind] = {}


def register_projection(kind: ProjectionKind) -> None:
    known = PROJECTIONS.get(kind.name)
    if known is kind:
        return
    if known is not None:
        raise ValueError(f"instrument kind {kind.name!r} is already registered")
    for other in PROJECTIONS.values():
        if other.record_types & kind.record_types:
            raise ValueError(
                f"kind {kind.name!r}: record types "
                f"{sorted(other.record_types & kind.record_types)} belong to {other.name!r}"
            )
    PROJECTIONS[kind.name] = kind


def projection_for(rtype: str) -> ProjectionKind | None:
    for kind in PROJECTIONS.values():
        if rtype in kind.record_types:
            return kind
    return None
