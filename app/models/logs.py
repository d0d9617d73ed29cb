"""Which log an entry came from: one integer key per ledger-derived row, many logs.

At province or national scale an office follows several logs (shards by region and
half-year, named by the signed log list, `ledger.loglist`). Every ledger-derived row keeps
one integer ``entry_index`` — the key — and a log's rows are one contiguous range of it::

    key = (log_no << LOG_BITS) | index in that log

Why not a (log, index) column pair: ~25 tables and every rule, finding and evidence list
name entries by one integer; the pair would touch all of them, slow every join and break
the single-log stores that exist. With the log number in the high bits, log 0 is the first
log a store followed (a single-log store's keys are its indexes, unchanged), rows of one
log stay clustered in log order, and a key still fits SQLite's and PostgreSQL's 64-bit
integers: 2^40 (1.1 trillion) entries per log — the nation's projected ~6 billion a year
would need 180 years to fill one — and 2^23 logs.

Log numbers are given in the order a store first meets the logs; `assign_logs` takes a
signed list's logs in shard order, so that a pile's records keep their time order across
half-year shards when the rules sort by key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, func, insert, select, update

from app.models import store as st

LOG_BITS = 40
MAX_INDEX = (1 << LOG_BITS) - 1
MAX_LOGS = 1 << (63 - LOG_BITS)


class LogLimitError(ValueError):
    """An index or log number does not fit the key (never for a real log)."""


def entry_key(log_no: int, index: int) -> int:
    """The store key of entry ``index`` of log ``log_no``."""
    if not 0 <= index <= MAX_INDEX:
        raise LogLimitError(f"entry index {index} does not fit a log's {LOG_BITS}-bit range")
    if not 0 <= log_no < MAX_LOGS:
        raise LogLimitError(f"log number {log_no} out of range")
    return (log_no << LOG_BITS) | index


def split_key(key: int) -> tuple[int, int]:
    """(log number, index in that log) of a store key."""
    return key >> LOG_BITS, key & MAX_INDEX


def log_range(log_no: int) -> tuple[int, int]:
    """The half-open key range [lo, hi) of log ``log_no``'s rows."""
    return log_no << LOG_BITS, (log_no + 1) << LOG_BITS


def describe_key(key: int, origins: dict[int, str] | None = None) -> str:
    """A key as a person reads it: "entry 5 of <origin>" when ``origins`` names its log,
    "entry 5" for log 0 otherwise (a single-log store's keys are its indexes)."""
    log_no, index = split_key(key)
    name = (origins or {}).get(log_no)
    if name is None and log_no == 0:
        return f"entry {index}"
    return f"entry {index} of {name or f'log {log_no}'}"


@dataclass(frozen=True)
class FollowedLog:
    """A log the store follows, as its ``logs`` row has it."""

    log_no: int
    origin: str
    key: str | None = None
    url: str | None = None
    region: str | None = None
    shard_start_ms: int | None = None
    shard_end_ms: int | None = None
    state: str = "usable"


def followed_logs(conn: Connection) -> list[FollowedLog]:
    rows = conn.execute(
        select(
            st.logs.c.log_no,
            st.logs.c.origin,
            st.logs.c.key,
            st.logs.c.url,
            st.logs.c.region,
            st.logs.c.shard_start_ms,
            st.logs.c.shard_end_ms,
            st.logs.c.state,
        ).order_by(st.logs.c.log_no)
    )
    return [FollowedLog(**row._mapping) for row in rows]


def origins_by_number(conn: Connection) -> dict[int, str]:
    return {int(n): o for n, o in conn.execute(select(st.logs.c.log_no, st.logs.c.origin))}


def log_number(conn: Connection, origin: str) -> int:
    """``origin``'s log number; a log met for the first time gets the next one."""
    found = conn.execute(select(st.logs.c.log_no).where(st.logs.c.origin == origin)).scalar()
    if found is not None:
        return int(found)
    (assigned,) = assign_logs(conn, [FollowedLog(-1, origin)])
    return assigned


def assign_logs(conn: Connection, logs: Iterable[FollowedLog]) -> list[int]:
    """Each log's number, inserting the unknown ones (in the order given) and bringing the
    known ones' key, URL, shard and state up to date (a list may make a log read-only)."""
    numbers: list[int] = []
    for log in logs:
        found = conn.execute(
            select(st.logs.c.log_no).where(st.logs.c.origin == log.origin)
        ).scalar()
        details = {
            "key": log.key,
            "url": log.url,
            "region": log.region,
            "shard_start_ms": log.shard_start_ms,
            "shard_end_ms": log.shard_end_ms,
            "state": log.state,
        }
        if found is None:
            last = conn.execute(select(func.max(st.logs.c.log_no))).scalar()
            found = 0 if last is None else int(last) + 1
            if found >= MAX_LOGS:
                raise LogLimitError(f"this store already follows {MAX_LOGS} logs")
            conn.execute(
                insert(st.logs),
                {"log_no": found, "origin": log.origin, "added_at": st.utcnow(), **details},
            )
        elif log.key is not None:  # from a list: its word on the log is the newest
            conn.execute(update(st.logs).where(st.logs.c.log_no == found).values(**details))
        numbers.append(int(found))
    return numbers


def write_log(conn: Connection, region: str, now_ms: int) -> FollowedLog | None:
    """The log that takes new records of ``region`` at ``now_ms`` (an inspector's signed
    verification result, from the outbox): the usable log of the region whose shard holds
    ``now_ms``, else the usable one that started last. None: no usable log is known."""
    usable = [
        log
        for log in followed_logs(conn)
        if log.state == "usable" and log.url and (log.region or "").startswith(region)
    ]
    current = [
        log for log in usable if (log.shard_start_ms or 0) <= now_ms < (log.shard_end_ms or 2**63)
    ]
    pool = current or usable
    return max(pool, key=lambda log: (log.shard_start_ms or 0, log.log_no), default=None)
