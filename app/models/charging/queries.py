"""Read-only queries behind the explorer, pile detail and session lookup views.

Qt-free and written in SQLAlchemy Core, so the same functions run on a regulator's SQLite
file and an office's PostgreSQL server, from a worker thread of the GUI or from a test.
Every function takes an open :class:`~sqlalchemy.Connection` and returns plain Python /
numpy values; the views never see SQL and never run it on the GUI thread (they hand these
functions to a worker, see ``app.views.table_models.StoreReader``).

Units stay the ledger's integers (Wh, fen, ms, 0.0001 yuan/kWh) except where a view needs
floats for plotting; conversions are named in the field (``*_kwh``, ``*_pct``).

Lists (operators, stations, piles) are paged: :func:`count_rows` gives the size of a
filtered list, :func:`page_rows` one page of it, sorted in SQL. Pages are fetched with
OFFSET, or, when the caller knows the last row of the previous page, by keyset ("seek")
which stays O(page) however deep the user scrolls into a million piles.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    and_,
    bindparam,
    false,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy import text as sql_text

from app.models import store
from app.models.charging.projection import unpack_power
from ledger.fleet.tariff import CST_OFFSET_MS, DAY_MS, compute_charge

YEAR_MS = 366 * DAY_MS
CLOCK_LIMIT_FIRST_MS = 5_000
"""JJG 1148/1149-2022: clock error ≤ 5 s at first verification..."""
CLOCK_LIMIT_LATER_MS = 180_000
"""... and ≤ 3 min at subsequent verification."""
CLASS_LIMIT_PCT = {"0.5": 0.5, "1": 1.0, "2": 2.0}
"""Maximum permissible working error per accuracy class, in percent."""
_IN_CHUNK = 5000


class QueryError(LookupError):
    """A lookup the user asked for that the store cannot answer; the message says why."""


# ---- lists ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ListFilter:
    """What the explorer's filter bar asks for; empty fields do not filter.

    ``text`` is a case-insensitive substring of the ids and names shown in the list.
    """

    text: str = ""
    operator_id: str | None = None
    station_id: str | None = None
    district: str | None = None
    kind: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class ListSpec:
    """One explorer list: its table, key, the columns it shows and which sort in SQL.

    ``columns`` are stable column names (labels are the view's business). Columns that
    are not in ``sortable`` (counts, joined names) are filled per page after the fact.
    """

    name: str
    table: Table
    key: str
    columns: tuple[str, ...]
    sortable: tuple[str, ...]
    text_columns: tuple[str, ...]
    filters: tuple[str, ...] = ()
    nullable_sort: frozenset[str] = frozenset()


LISTS: dict[str, ListSpec] = {
    "operators": ListSpec(
        name="operators",
        table=store.operators,
        key="operator_id",
        columns=("operator_id", "name", "credit_code", "stations", "piles"),
        sortable=("operator_id", "name", "credit_code"),
        text_columns=("operator_id", "name", "credit_code"),
        filters=("operator_id",),
        nullable_sort=frozenset({"credit_code"}),
    ),
    "stations": ListSpec(
        name="stations",
        table=store.stations,
        key="station_id",
        columns=("station_id", "name", "operator_id", "operator", "district", "address", "piles"),
        sortable=("station_id", "name", "operator_id", "district", "address"),
        text_columns=("station_id", "name", "address"),
        filters=("operator_id", "district"),
        nullable_sort=frozenset({"address"}),
    ),
    "piles": ListSpec(
        name="piles",
        table=store.piles,
        key="pile_id",
        columns=(
            "pile_id",
            "station_id",
            "station",
            "operator",
            "district",
            "kind",
            "rated_power_w",
            "status",
            "commissioned_ms",
        ),
        sortable=(
            "pile_id",
            "station_id",
            "district",
            "kind",
            "rated_power_w",
            "status",
            "commissioned_ms",
        ),
        text_columns=("pile_id", "station_id"),
        filters=("operator_id", "station_id", "district", "kind", "status"),
        nullable_sort=frozenset({"district"}),
    ),
}


def _like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(column: ColumnElement[Any], pattern: str, dialect: str) -> ColumnElement[bool]:
    """``column`` matches the lower-case LIKE ``pattern`` whatever the case of its ASCII.

    SQLite's LIKE already ignores ASCII case, and its ``lower()`` folds nothing else, so
    ``lower(col) LIKE p`` and ``col LIKE p`` select the same rows there; without the
    per-row function call a text filter over a million piles scans 2.6x faster (150 ms
    instead of 400). Other databases compare case-sensitively: ``lower(col) LIKE p``,
    the form a trigram index on ``lower(col)`` serves on PostgreSQL.
    """
    if dialect == "sqlite":
        return column.like(pattern, escape="\\")
    return func.lower(column).like(pattern, escape="\\")


def _where(spec: ListSpec, flt: ListFilter, dialect: str) -> list[ColumnElement[bool]]:
    table = spec.table
    clauses: list[ColumnElement[bool]] = []
    for name in spec.filters:
        value = getattr(flt, name)
        if value:
            clauses.append(table.c[name] == value)
    text = search_text(flt.text)
    if "\x00" in text:
        clauses.append(false())  # no ledger ID holds a NUL: PostgreSQL text cannot
    elif text and dialect == "sqlite" and spec.name in TRIGRAM_SEARCH and _trigram_safe(text):
        clauses.append(_trigram_match(spec.name, text))
    elif text:
        pattern = _like_pattern(text)
        clauses.append(or_(*(_contains(table.c[c], pattern, dialect) for c in spec.text_columns)))
    return clauses


_SEARCH_BLANKS = " \t\r\n\u3000\u00a0"


def search_text(raw: str) -> str:
    """The explorer's search text as matched: spaces (ASCII, ideographic, no-break) and
    line ends trimmed, nothing else changed.

    ``str.strip()`` also trims control characters Python counts as whitespace
    (U+001C..U+001F, U+0085): a pasted "\\x1f" became the empty search and listed every
    pile. Control characters now stay in the text and are matched literally, by the LIKE
    scan (see `_trigram_safe`); a NUL matches nothing (LIKE stopped at it on SQLite and
    matched every row; FTS5 and PostgreSQL refused it)."""
    return raw.strip(_SEARCH_BLANKS)


TRIGRAM_SEARCH = frozenset({"piles", "stations"})
"""Lists with an FTS5 trigram index on their text columns on SQLite (migration 0004)."""


def _trigram_safe(text: str) -> bool:
    """Whether the trigram index answers ``text`` exactly as the LIKE scan would: 3+
    characters, and no letter outside ASCII that has case. The index folds every
    letter's case (É = é) where SQLite's LIKE folds only ASCII: "éco" would otherwise
    find "ÉCOLE" while "éc" did not. Hanzi have no case and take the index."""
    return len(text) >= 3 and all(
        (c.isascii() or c.lower() == c.upper()) and c.isprintable() for c in text
    )


def _trigram_match(table: str, text: str) -> ColumnElement[bool]:
    """Rows whose text columns contain ``text``, case-insensitively, from the trigram index:
    the same rows as the LIKE '%text%' scan for 3+ characters, found without a scan (7 ms
    instead of 150 over a million piles). The text is one FTS5 phrase, so quotes, ``%``,
    ``_`` and FTS operators in it are matched literally."""
    phrase = '"' + text.replace('"', '""') + '"'
    return sql_text(
        f"{table}.rowid IN (SELECT rowid FROM {table}_search WHERE {table}_search MATCH :fts)"
    ).bindparams(fts=phrase)


def count_rows(conn: Connection, list_name: str, flt: ListFilter = ListFilter()) -> int:
    """How many rows the filtered list has (the model's ``rowCount``)."""
    spec = LISTS[list_name]
    stmt = select(func.count()).select_from(spec.table).where(*_where(spec, flt, conn.dialect.name))
    return int(conn.execute(stmt).scalar_one())


@dataclass(frozen=True)
class PageRequest:
    """One page of a list. ``after`` = (sort value, key) of the row just before the page,
    when known: the query then seeks instead of skipping ``offset`` rows."""

    list_name: str
    flt: ListFilter = ListFilter()
    sort: str | None = None
    descending: bool = False
    offset: int = 0
    limit: int = 200
    after: tuple[Any, str] | None = None


def page_rows(conn: Connection, req: PageRequest) -> list[tuple[Any, ...]]:
    """Rows ``offset .. offset+limit`` of the filtered, sorted list, in ``spec.columns`` order.

    Ties in the sort column are broken by the key, so pages never overlap or skip a row
    however many rows share a value (a million piles share four statuses).
    """
    spec = LISTS[req.list_name]
    table = spec.table
    key = table.c[spec.key]
    sort_name = req.sort if req.sort in spec.sortable else spec.key
    sort_col = table.c[sort_name]
    order: list[Any] = []
    if sort_name != spec.key:
        order.append(sort_col.desc() if req.descending else sort_col.asc())
    order.append(key.desc() if req.descending else key.asc())
    stmt: Select[Any] = select(*(table.c[c] for c in spec.sortable), key).where(
        *_where(spec, req.flt, conn.dialect.name)
    )
    stmt = stmt.order_by(*order).limit(req.limit)
    seekable = req.after is not None and (
        sort_name == spec.key or (sort_name not in spec.nullable_sort and req.after[0] is not None)
    )
    if seekable:
        assert req.after is not None
        value, last_key = req.after
        if sort_name == spec.key:
            stmt = stmt.where(key < last_key if req.descending else key > last_key)
        elif req.descending:
            stmt = stmt.where(tuple_(sort_col, key) < tuple_(literal(value), literal(last_key)))
        else:
            stmt = stmt.where(tuple_(sort_col, key) > tuple_(literal(value), literal(last_key)))
    else:
        stmt = stmt.offset(req.offset)
    base = [dict(row) for row in conn.execute(stmt).mappings()]
    _fill_derived(conn, spec, base)
    return [tuple(row.get(c) for c in spec.columns) for row in base]


def sort_key_of(list_name: str, sort: str | None, row: Sequence[Any]) -> tuple[Any, str]:
    """(sort value, key) of a row returned by :func:`page_rows`: the next page's ``after``."""
    spec = LISTS[list_name]
    sort_name = sort if sort in spec.sortable else spec.key
    return row[spec.columns.index(sort_name)], row[spec.columns.index(spec.key)]


def _names(conn: Connection, table: Table, key: str, ids: Iterable[str]) -> dict[str, str]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    stmt = select(table.c[key], table.c.name).where(
        table.c[key].in_(bindparam("ids", expanding=True))
    )
    return {k: v for k, v in conn.execute(stmt, {"ids": wanted}).all()}


def _counts(conn: Connection, table: Table, by: str, ids: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    stmt = (
        select(table.c[by], func.count())
        .where(table.c[by].in_(bindparam("ids", expanding=True)))
        .group_by(table.c[by])
    )
    return {k: int(n) for k, n in conn.execute(stmt, {"ids": wanted}).all()}


def _fill_derived(conn: Connection, spec: ListSpec, rows: list[dict[str, Any]]) -> None:
    """Names and counts for one page only: an index lookup per page, never a city-wide join."""
    if not rows:
        return
    if spec.name == "operators":
        ids = [r["operator_id"] for r in rows]
        stations = _counts(conn, store.stations, "operator_id", ids)
        piles = _counts(conn, store.piles, "operator_id", ids)
        for r in rows:
            r["stations"] = stations.get(r["operator_id"], 0)
            r["piles"] = piles.get(r["operator_id"], 0)
    elif spec.name == "stations":
        ops = _names(conn, store.operators, "operator_id", (r["operator_id"] for r in rows))
        piles = _counts(conn, store.piles, "station_id", [r["station_id"] for r in rows])
        for r in rows:
            r["operator"] = ops.get(r["operator_id"], r["operator_id"])
            r["piles"] = piles.get(r["station_id"], 0)
    elif spec.name == "piles":
        extra = select(store.piles.c.pile_id, store.piles.c.operator_id).where(
            store.piles.c.pile_id.in_(bindparam("ids", expanding=True))
        )
        op_of = dict(conn.execute(extra, {"ids": [r["pile_id"] for r in rows]}).all())
        st = _names(conn, store.stations, "station_id", (r["station_id"] for r in rows))
        ops = _names(conn, store.operators, "operator_id", op_of.values())
        for r in rows:
            op = op_of.get(r["pile_id"])
            r["station"] = st.get(r["station_id"], r["station_id"])
            r["operator"] = ops.get(op, op) if op else None


def operators_list(conn: Connection) -> list[tuple[str, str]]:
    """(operator_id, name) of every operator, by name: the filter bar's choices."""
    stmt = select(store.operators.c.operator_id, store.operators.c.name).order_by(
        store.operators.c.name, store.operators.c.operator_id
    )
    return [(k, v) for k, v in conn.execute(stmt).all()]


def stations_list(conn: Connection, operator_id: str | None = None) -> list[tuple[str, str]]:
    """(station_id, name) of every station (of one operator), by name."""
    t = store.stations
    stmt = select(t.c.station_id, t.c.name).order_by(t.c.name, t.c.station_id)
    if operator_id:
        stmt = stmt.where(t.c.operator_id == operator_id)
    return [(k, v) for k, v in conn.execute(stmt).all()]


def districts_list(conn: Connection) -> list[str]:
    """Districts that have at least one station, sorted."""
    stmt = select(store.stations.c.district).distinct().order_by(store.stations.c.district)
    return [d for (d,) in conn.execute(stmt).all() if d]


def statuses_list(conn: Connection) -> list[str]:
    """Pile status values present in the store (rules may add new ones)."""
    stmt = select(store.piles.c.status).distinct().order_by(store.piles.c.status)
    return [s for (s,) in conn.execute(stmt).all() if s]


# ---- pile detail ---------------------------------------------------------------------


@dataclass(frozen=True)
class PileInfo:
    """The pile's registry facts for the detail header."""

    pile_id: str
    station_id: str
    station_name: str | None
    operator_id: str
    operator_name: str | None
    district: str | None
    kind: str
    rated_power_w: int
    rated_voltage_v: int
    status: str
    commissioned_ms: int
    meters: tuple[Mapping[str, Any], ...]
    """meter_id, connector, accuracy_class, key_id, cert_no, cert_date, cert_verifier."""

    @property
    def accuracy_class(self) -> str | None:
        classes = sorted({str(m["accuracy_class"]) for m in self.meters})
        return "/".join(classes) if classes else None

    @property
    def certificates(self) -> str | None:
        certs = [str(m["cert_no"]) for m in self.meters if m.get("cert_no")]
        return ", ".join(certs) if certs else None


@dataclass
class PileDetail:
    """Everything the pile detail plots show for one pile and time range.

    Arrays are numpy, times in Unix ms (int64) except ``power_t_s`` (float seconds, the
    DateAxisItem's unit) which carries NaN gaps between sessions so one curve item can
    draw all profiles without joining them.
    """

    info: PileInfo
    t0_ms: int
    t1_ms: int
    session_entry: np.ndarray
    session_ids: list[str]
    session_meter: list[str]
    session_start_ms: np.ndarray
    session_stop_ms: np.ndarray
    session_energy_wh: np.ndarray
    session_billed_wh: np.ndarray
    """float: NaN where the session has no billing record."""
    session_amount_fen: np.ndarray
    """float: NaN where unbilled."""
    power_t_s: np.ndarray
    power_w: np.ndarray
    meter_ids: list[str]
    """The pile's meters; ``*_meter`` arrays hold indexes into this list."""
    register_t_ms: np.ndarray
    register_wh: np.ndarray
    register_meter: np.ndarray
    heartbeat_t_ms: np.ndarray
    clock_offset_ms: np.ndarray
    """meter_ms − ref_ms of each heartbeat (positive: the meter's clock is ahead)."""
    heartbeat_meter: np.ndarray
    seals: list[dict[str, Any]]
    verifications: list[dict[str, Any]]
    anomalies: list[dict[str, Any]]

    @property
    def n_sessions(self) -> int:
        return len(self.session_ids)

    @property
    def n_power_samples(self) -> int:
        return int(np.count_nonzero(~np.isnan(self.power_w)))


def pile_info(conn: Connection, pile_id: str) -> PileInfo:
    """The pile's registry row with its station, operator and meters; QueryError if unknown."""
    p, s, o, m = store.piles, store.stations, store.operators, store.meters
    stmt = (
        select(p, s.c.name.label("station_name"), o.c.name.label("operator_name"))
        .select_from(
            p.outerjoin(s, s.c.station_id == p.c.station_id).outerjoin(
                o, o.c.operator_id == p.c.operator_id
            )
        )
        .where(p.c.pile_id == pile_id)
    )
    row = conn.execute(stmt).mappings().first()
    if row is None:
        raise QueryError(f"pile {pile_id} is not in the registry")
    meters = conn.execute(
        select(
            m.c.meter_id,
            m.c.connector,
            m.c.accuracy_class,
            m.c.key_id,
            m.c.cert_no,
            m.c.cert_date,
            m.c.cert_verifier,
            m.c.maker,
            m.c.model,
        )
        .where(m.c.pile_id == pile_id)
        .order_by(m.c.connector, m.c.meter_id)
    ).mappings()
    return PileInfo(
        pile_id=row["pile_id"],
        station_id=row["station_id"],
        station_name=row["station_name"],
        operator_id=row["operator_id"],
        operator_name=row["operator_name"],
        district=row["district"],
        kind=row["kind"],
        rated_power_w=int(row["rated_power_w"]),
        rated_voltage_v=int(row["rated_voltage_v"]),
        status=row["status"],
        commissioned_ms=int(row["commissioned_ms"]),
        meters=tuple(dict(r) for r in meters),
    )


def latest_activity_ms(conn: Connection, pile_id: str) -> int | None:
    """Start of the pile's latest session (index seek), or None without sessions."""
    stmt = select(func.max(store.sessions.c.start_ms)).where(store.sessions.c.pile_id == pile_id)
    value = conn.execute(stmt).scalar()
    return None if value is None else int(value)


def warm_up_pile_detail(conn: Connection) -> bool:
    """Runs every statement of :func:`pile_detail` once, on an empty time range.

    The first pile a user opens otherwise pays, on top of its data, for SQLAlchemy
    building and compiling its ten statements (~12 ms, then cached per engine) and for
    SQLite reading the schema on a fresh connection. A start-up worker runs this
    instead, while nobody waits: an index seek per statement, next to nothing read.
    False if the store has no pile to run it on yet.
    """
    # A pile with a meter, so the per-meter heartbeat statement runs too.
    pile_id = conn.execute(select(store.meters.c.pile_id).limit(1)).scalar()
    if pile_id is None:
        pile_id = conn.execute(select(store.piles.c.pile_id).limit(1)).scalar()
    if pile_id is None:
        return False
    default_range(conn, pile_id)
    pile_detail(conn, pile_id, 0, 1)
    _billing_by_session(conn, [""])  # an empty range has no sessions, so no bills to read
    return True


def default_range(conn: Connection, pile_id: str, at_ms: int | None = None) -> tuple[int, int]:
    """The year to show: ending at the latest session, or centred on ``at_ms`` if that
    moment is outside it (an alarm from long ago still opens at its moment)."""
    latest = latest_activity_ms(conn, pile_id)
    if latest is None:  # no sessions yet: the year up to the moment asked for, or now
        latest = at_ms if at_ms is not None else int(time.time() * 1000)
    end = latest + DAY_MS
    if at_ms is not None and not end - YEAR_MS <= at_ms <= end:
        return at_ms - YEAR_MS // 2, at_ms + YEAR_MS // 2
    return end - YEAR_MS, end


def _billing_by_session(conn: Connection, session_ids: Sequence[str]) -> dict[str, Any]:
    """The latest billing row per session id (a duplicate bill is the rules' business)."""
    b = store.billing
    stmt = (
        select(b.c.session_id, b.c.billed_wh, b.c.amount_fen, b.c.entry_index)
        .where(b.c.session_id.in_(bindparam("ids", expanding=True)))
        .order_by(b.c.entry_index)
    )
    found: dict[str, Any] = {}
    unique = sorted(set(session_ids))
    for start in range(0, len(unique), _IN_CHUNK):
        for row in conn.execute(stmt, {"ids": unique[start : start + _IN_CHUNK]}):
            found[row.session_id] = row
    return found


def _concat_profiles(
    starts: np.ndarray, intervals: np.ndarray, blobs: Sequence[bytes]
) -> tuple[np.ndarray, np.ndarray]:
    """All sessions' power samples on one time axis, a NaN after each session."""
    arrays = [unpack_power(blob) for blob in blobs]
    lengths = np.fromiter((len(a) for a in arrays), dtype=np.int64, count=len(arrays))
    total = int(lengths.sum()) + len(arrays)
    t = np.full(total, np.nan)
    w = np.full(total, np.nan)
    if not arrays:
        return t, w
    pos = 0
    for start, step, arr, n in zip(starts, intervals, arrays, lengths):
        n = int(n)
        t[pos : pos + n] = (start + np.arange(n, dtype=np.float64) * (step * 1000.0)) / 1000.0
        w[pos : pos + n] = arr
        # the gap point sits at the session's last sample time (no visual jump on the axis)
        t[pos + n] = t[pos + n - 1] if n else start / 1000.0
        pos += n + 1
    return t, w


def pile_detail(
    conn: Connection, pile_id: str, t0_ms: int | None = None, t1_ms: int | None = None
) -> PileDetail:
    """The pile's data between ``t0_ms`` and ``t1_ms`` (default :func:`default_range`).

    Heartbeats are fetched per meter (their index is (meter_id, ref_ms)); verifications
    are the whole history (a handful per pile, the error trend is the point); anomalies
    come from the rules' table and may be empty.
    """
    info = pile_info(conn, pile_id)
    if t0_ms is None or t1_ms is None:
        t0_ms, t1_ms = default_range(conn, pile_id)
    s = store.sessions
    rows = conn.execute(
        select(
            s.c.entry_index,
            s.c.session_id,
            s.c.meter_id,
            s.c.start_ms,
            s.c.stop_ms,
            s.c.start_wh,
            s.c.stop_wh,
            s.c.energy_wh,
            s.c.interval_s,
            s.c.power_w,
        )
        .where(s.c.pile_id == pile_id, s.c.start_ms >= t0_ms, s.c.start_ms < t1_ms)
        .order_by(s.c.start_ms, s.c.entry_index)
    ).all()
    n = len(rows)
    ids = [r.session_id for r in rows]
    bills = _billing_by_session(conn, ids)
    start = np.fromiter((r.start_ms for r in rows), dtype=np.int64, count=n)
    stop = np.fromiter((r.stop_ms for r in rows), dtype=np.int64, count=n)
    billed = np.array([bills[i].billed_wh if i in bills else np.nan for i in ids], dtype=float)
    amount = np.array([bills[i].amount_fen if i in bills else np.nan for i in ids], dtype=float)
    power_t, power_w = _concat_profiles(
        start, np.fromiter((r.interval_s for r in rows), np.int64, n), [r.power_w for r in rows]
    )

    meter_ids = sorted({m["meter_id"] for m in info.meters} | {r.meter_id for r in rows})
    code = {m: i for i, m in enumerate(meter_ids)}
    # Heartbeats are the bulk (a year at 15 min = 35k rows): one index range scan per
    # meter, raw DBAPI tuples straight into numpy (no Row objects: 5x faster).
    h = store.heartbeats
    hb_parts: list[np.ndarray] = []
    for meter in meter_ids:
        stmt = (
            select(h.c.ref_ms, h.c.meter_ms - h.c.ref_ms, h.c.register_wh)
            .where(h.c.meter_id == meter, h.c.ref_ms >= t0_ms, h.c.ref_ms < t1_ms)
            .order_by(h.c.ref_ms)
        )
        result = conn.execute(stmt)
        raw = result.cursor.fetchall()
        result.close()
        part = np.array(raw, dtype=np.int64).reshape(-1, 3)
        hb_parts.append(np.column_stack([part, np.full(len(part), code[meter])]))
    beats = np.concatenate(hb_parts) if hb_parts else np.empty((0, 4), dtype=np.int64)
    if len(hb_parts) > 1:
        beats = beats[np.argsort(beats[:, 0], kind="stable")]

    # The register: readings at session starts, stops and heartbeats, per meter, in order.
    sess_code = np.fromiter((code[r.meter_id] for r in rows), dtype=np.int64, count=n)
    start_wh = np.fromiter((r.start_wh for r in rows), dtype=np.int64, count=n)
    stop_wh = np.fromiter((r.stop_wh for r in rows), dtype=np.int64, count=n)
    reg_t = np.concatenate([start, stop, beats[:, 0]])
    reg_wh = np.concatenate([start_wh, stop_wh, beats[:, 2]])
    reg_meter = np.concatenate([sess_code, sess_code, beats[:, 3]])
    order = np.lexsort((reg_wh, reg_t))
    se = store.seal_events
    seals = [
        dict(r)
        for r in conn.execute(
            select(
                se.c.entry_index, se.c.meter_id, se.c.seq, se.c.event, se.c.at_ms, se.c.register_wh
            )
            .where(se.c.pile_id == pile_id, se.c.at_ms >= t0_ms, se.c.at_ms < t1_ms)
            .order_by(se.c.at_ms)
        ).mappings()
    ]
    return PileDetail(
        info=info,
        t0_ms=int(t0_ms),
        t1_ms=int(t1_ms),
        session_entry=np.fromiter((r.entry_index for r in rows), dtype=np.int64, count=n),
        session_ids=ids,
        session_meter=[r.meter_id for r in rows],
        session_start_ms=start,
        session_stop_ms=stop,
        session_energy_wh=np.fromiter((r.energy_wh for r in rows), dtype=np.int64, count=n),
        session_billed_wh=billed,
        session_amount_fen=amount,
        power_t_s=power_t,
        power_w=power_w,
        meter_ids=meter_ids,
        register_t_ms=reg_t[order],
        register_wh=reg_wh[order],
        register_meter=reg_meter[order],
        heartbeat_t_ms=np.ascontiguousarray(beats[:, 0]),
        clock_offset_ms=np.ascontiguousarray(beats[:, 1]),
        heartbeat_meter=np.ascontiguousarray(beats[:, 3]),
        seals=seals,
        verifications=verification_history(conn, pile_id),
        anomalies=anomalies_for_pile(conn, pile_id, t0_ms, t1_ms),
    )


def verification_history(conn: Connection, pile_id: str) -> list[dict[str, Any]]:
    """Every verification of the pile, oldest first, with the mean and worst point error.

    ``error_pct`` is the mean of the points' ``error_ppm`` in percent (JJG: readings
    averaged per load point), ``worst_pct`` the point with the largest magnitude, and
    ``limit_pct`` the class limit the result was judged against.
    """
    v = store.verifications
    out: list[dict[str, Any]] = []
    stmt = (
        select(
            v.c.entry_index,
            v.c.verification_id,
            v.c.meter_id,
            v.c.inspector_id,
            v.c.at_ms,
            v.c.kind,
            v.c.points,
            v.c.clock_error_ms,
            v.c.result,
            v.c.certificate_no,
            v.c.accuracy_class,
        )
        .where(v.c.pile_id == pile_id)
        .order_by(v.c.at_ms)
    )
    for row in conn.execute(stmt).mappings():
        errors = [float(p["error_ppm"]) / 10_000.0 for p in row["points"]]
        item = dict(row)
        item["error_pct"] = float(np.mean(errors)) if errors else float("nan")
        item["worst_pct"] = max(errors, key=abs) if errors else float("nan")
        item["limit_pct"] = CLASS_LIMIT_PCT.get(str(row["accuracy_class"]))
        out.append(item)
    return out


def anomalies_for_pile(
    conn: Connection, pile_id: str, t0_ms: int | None = None, t1_ms: int | None = None
) -> list[dict[str, Any]]:
    """The rules' findings for the pile in the range (empty until the rules have run)."""
    a = store.anomalies
    stmt = select(a.c.id, a.c.rule_id, a.c.meter_id, a.c.at_ms, a.c.severity, a.c.detail).where(
        a.c.pile_id == pile_id
    )
    if t0_ms is not None and t1_ms is not None:
        stmt = stmt.where(a.c.at_ms >= t0_ms, a.c.at_ms < t1_ms)
    return [dict(r) for r in conn.execute(stmt.order_by(a.c.at_ms)).mappings()]


# ---- sessions ------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionRef:
    """One line of a lookup result list (enough to choose; details come later)."""

    entry_index: int
    session_id: str
    pile_id: str
    station_id: str | None
    start_ms: int
    stop_ms: int
    energy_wh: int


def _session_refs(
    conn: Connection, *where: ColumnElement[bool], limit: int = 5000
) -> list[SessionRef]:
    s = store.sessions
    stmt = (
        select(
            s.c.entry_index,
            s.c.session_id,
            s.c.pile_id,
            s.c.station_id,
            s.c.start_ms,
            s.c.stop_ms,
            s.c.energy_wh,
        )
        .where(*where)
        .order_by(s.c.start_ms, s.c.entry_index)
        .limit(limit)
    )
    return [SessionRef(**r) for r in conn.execute(stmt).mappings()]


def sessions_by_id(conn: Connection, session_id: str) -> list[SessionRef]:
    """Every session entry with this id: usually one; more is a duplicate-session fault."""
    return _session_refs(conn, store.sessions.c.session_id == session_id.strip())


def sessions_at(conn: Connection, pile_id: str, at_ms: int) -> list[SessionRef]:
    """Sessions of the pile whose [start, stop] covers ``at_ms`` (a consumer's "I charged
    here at 14:05"). Seeks the (pile_id, start_ms) index backwards from ``at_ms``."""
    s = store.sessions
    recent = (
        select(s.c.entry_index)
        .where(s.c.pile_id == pile_id.strip(), s.c.start_ms <= at_ms)
        .order_by(s.c.start_ms.desc())
        .limit(20)
        .scalar_subquery()
    )
    return _session_refs(conn, s.c.entry_index.in_(recent), s.c.stop_ms >= at_ms)


def local_day_range(day: dt.date) -> tuple[int, int]:
    """[start, end) in Unix ms of a calendar day in Hangzhou (UTC+8, no DST)."""
    start = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)
    start -= CST_OFFSET_MS
    return start, start + DAY_MS


def sessions_on_day(conn: Connection, station_id: str, day: dt.date) -> list[SessionRef]:
    """Sessions started at the station on the local calendar day."""
    s = store.sessions
    t0, t1 = local_day_range(day)
    return _session_refs(
        conn, s.c.station_id == station_id.strip(), s.c.start_ms >= t0, s.c.start_ms < t1
    )


@dataclass(frozen=True)
class Tariff:
    entry_index: int
    tariff_id: str
    operator_id: str
    station_id: str
    valid_from_ms: int
    periods: tuple[Mapping[str, int], ...]


def tariff_in_force(conn: Connection, station_id: str | None, at_ms: int) -> Tariff | None:
    """The station's tariff posted last with ``valid_from_ms <= at_ms`` (later entry wins)."""
    if not station_id:
        return None
    t = store.tariffs
    row = (
        conn.execute(
            select(t)
            .where(t.c.station_id == station_id, t.c.valid_from_ms <= at_ms)
            .order_by(t.c.valid_from_ms.desc(), t.c.entry_index.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    return Tariff(
        entry_index=row["entry_index"],
        tariff_id=row["tariff_id"],
        operator_id=row["operator_id"],
        station_id=row["station_id"],
        valid_from_ms=row["valid_from_ms"],
        periods=tuple(dict(p) for p in row["periods"]),
    )


def tariff_for_session(conn: Connection, entry_index: int) -> Tariff | None:
    """The tariff in force at the session's start at its station."""
    s = store.sessions
    row = conn.execute(
        select(s.c.station_id, s.c.start_ms).where(s.c.entry_index == entry_index)
    ).first()
    if row is None:
        raise QueryError(f"no session at log entry {entry_index}")
    return tariff_in_force(conn, row.station_id, row.start_ms)


@dataclass(frozen=True)
class PeriodCharge:
    """One time-of-use period's share of a session: ``wh`` is exact (a float of a rational)."""

    start_min: int
    end_min: int
    energy_e4: int
    service_e4: int
    wh: float

    @property
    def fen(self) -> float:
        """Unrounded energy + service charge of this share, in fen."""
        return self.wh * (self.energy_e4 + self.service_e4) / 100_000.0


@dataclass(frozen=True)
class FairCharge:
    """What the session should cost under the posted tariff.

    ``energy_fen`` and ``service_fen`` are computed by the ledger's one billing rule
    (:func:`ledger.fleet.tariff.compute_charge`): the energy is split across time-of-use
    periods in proportion to the power profile's samples (each sample wholly in the period
    of its start minute, UTC+8), priced at ``energy_e4`` and ``service_e4`` (0.0001
    yuan/kWh, so Wh × e4 / 100 000 = fen), each sum rounded half up to a fen. The energy
    and service parts are rounded separately, as the billing record states them, so an
    honest bill matches to the fen instead of being one fen off by rounding.
    """

    energy_wh: int
    energy_fen: int
    service_fen: int
    periods: tuple[PeriodCharge, ...]

    @property
    def amount_fen(self) -> int:
        return self.energy_fen + self.service_fen


def fair_charge(
    periods: Sequence[Mapping[str, int]],
    start_ms: int,
    interval_s: int,
    power_w: np.ndarray | Sequence[int],
    energy_wh: int,
) -> FairCharge:
    """The fair charge of ``energy_wh`` under ``periods`` (see :class:`FairCharge`)."""
    power = np.asarray(power_w, dtype=np.int64)
    energy_fen, service_fen = compute_charge(
        periods, start_ms, interval_s, power.tolist(), energy_wh
    )
    # The per-period split, for display (same assignment as compute_charge).
    table = np.full(1440, -1, dtype=np.int64)
    for i, p in enumerate(periods):
        table[p["start_min"] : p["end_min"]] = i
    local0 = (start_ms + CST_OFFSET_MS) % DAY_MS
    minutes = (local0 + np.arange(len(power), dtype=np.int64) * interval_s * 1000) // 60_000
    index = table[minutes % 1440]
    weights = np.bincount(index, weights=np.clip(power, 0, None), minlength=len(periods))
    total = float(weights.sum())
    if total == 0:
        weights = np.zeros(len(periods))
        weights[table[(local0 // 60_000) % 1440]] = 1.0
        total = 1.0
    shares = tuple(
        PeriodCharge(
            start_min=int(p["start_min"]),
            end_min=int(p["end_min"]),
            energy_e4=int(p["energy_e4"]),
            service_e4=int(p["service_e4"]),
            wh=energy_wh * float(w) / total,
        )
        for p, w in zip(periods, weights)
    )
    return FairCharge(energy_wh, energy_fen, service_fen, shares)


@dataclass
class SessionDetail:
    """A session with everything a dispute needs: bill, tariff, fair amount, signers."""

    session: dict[str, Any]
    """The session row (power_w unpacked to a numpy array)."""
    billing: list[dict[str, Any]]
    """Billing rows with this session id (0: unbilled; >1: duplicate bill)."""
    tariff: Tariff | None
    fair: FairCharge | None
    """Fair charge of the metered energy (None without a tariff)."""
    meter_key_id: str | None
    operator_key_id: str | None
    duplicates: int = 0
    """Other session entries sharing this session id."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def bill(self) -> dict[str, Any] | None:
        return self.billing[-1] if self.billing else None

    @property
    def overbilled_fen(self) -> int | None:
        """Billed amount minus fair amount (positive = the consumer paid too much)."""
        if self.bill is None or self.fair is None:
            return None
        return int(self.bill["amount_fen"]) - self.fair.amount_fen


def session_detail(conn: Connection, entry_index: int) -> SessionDetail:
    """The session logged at ``entry_index`` with its bill(s), tariff and fair charge."""
    s, b = store.sessions, store.billing
    row = conn.execute(select(s).where(s.c.entry_index == entry_index)).mappings().first()
    if row is None:
        raise QueryError(f"no session at log entry {entry_index}")
    session = dict(row)
    session["power_w"] = unpack_power(row["power_w"])
    billing = [
        dict(r)
        for r in conn.execute(
            select(b).where(b.c.session_id == row["session_id"]).order_by(b.c.entry_index)
        ).mappings()
    ]
    tariff = tariff_in_force(conn, row["station_id"], row["start_ms"])
    fair = (
        fair_charge(
            tariff.periods,
            row["start_ms"],
            row["interval_s"],
            session["power_w"],
            row["energy_wh"],
        )
        if tariff is not None and tariff.periods
        else None
    )
    meter_key = conn.execute(
        select(store.meter_keys.c.key_id)
        .where(
            store.meter_keys.c.meter_id == row["meter_id"],
            store.meter_keys.c.entry_index < entry_index,
        )
        .order_by(store.meter_keys.c.entry_index.desc())
        .limit(1)
    ).scalar()
    operator_key = None
    if billing:
        operator_key = conn.execute(
            select(store.operators.c.key_id).where(
                store.operators.c.operator_id == billing[-1]["operator_id"]
            )
        ).scalar()
    dups = conn.execute(
        select(func.count())
        .select_from(s)
        .where(and_(s.c.session_id == row["session_id"], s.c.entry_index != entry_index))
    ).scalar_one()
    return SessionDetail(
        session=session,
        billing=billing,
        tariff=tariff,
        fair=fair,
        meter_key_id=meter_key,
        operator_key_id=operator_key,
        duplicates=int(dups),
    )
