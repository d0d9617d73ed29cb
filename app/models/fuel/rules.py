"""Fuel dispenser rules F01–F10 (安心加油): what a regulator checks on the signed fuel ledger.

Anchors (docs/rules.md, "Fuel dispensers", gives each rule's source and tolerance):

* **JJG 443-2023** 燃油加油机检定规程: the dispenser's display step (0.01 L volume, 0.01 yuan
  amount), amount = volume × unit price, totalizers that never go back, seals on the
  metering parts and no replaced encoder/board without re-verification;
* **GB/T 9081-2023** 机动车燃油加油机: the 防作弊 requirements — a monitoring module that
  signs each fuelling and the totalizers, the tax-control box whose totals must follow the
  dispenser's, seals opened reported as events, component identities paired;
* **the 2024 national campaign on fuel cheating** (市场监管总局 加油机计量作弊专项整治): cheat
  boards that over-count litres (found by wet-stock reconciliation against the tank gauge),
  back-office software that cuts cumulative totals to evade tax (tax box vs totalizer),
  POS records that do not match the dispenser, and prices other than the posted price.

How it runs: `analyse(conn, summary)` after each synced batch, in the sync's transaction
(`app.models.analysis.analyse_batch`), over what the batch brought (``summary.new_entries``
by record type). Work is proportional to the batch: each rule is one or a few SQL
statements over the batch's entries (``IN`` lists) whose neighbours — a nozzle's previous
fuelling or totalizer reading, the posted price, a fuelling's sale — are found by
correlated index probes in the database, never by loading a nozzle's history; comparisons
are numpy over the returned rows. Day rules (F09 wet stock, F10 round amounts) run once per
(tank | station, local day), when the first record after the day's end plus a grace hour
arrives; the grace and one-day rules (F04 no sale, F07 no initialisation) are judged in
data time (the station's newest records), never the wall clock, like the charging rules.

Findings name the dispenser in ``pile_id`` and the nozzle ``"<dispenser>#<n>"`` in
``meter_id`` (the core's instrument and measuring-part columns); tank rules (F09) name the
tank in both. They are stored with `app.models.findings.insert_findings` (idempotent per
rule and evidence), and the core opens alarms by the severity policy: F08 (critical) opens
one in the batch that brought the seal event.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, bindparam, select, text, update

from app.models import store as st
from app.models.findings import (
    Closure,
    Finding,
    Rule,
    close_findings,
    insert_findings,
    register_rules,
)
from app.models.fuel import tables as ft
from app.models.projection import BatchSummary

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
CST_OFFSET_MS = 8 * HOUR_MS
"""Days are local (UTC+8) calendar days, as a station's books are."""
VOLUME_STEP_ML = 10
"""One display step of a dispenser's totalizer / tax box volume (0.01 L): F01, F02."""
AMOUNT_STEP_FEN = 1
"""One display step of an amount (0.01 yuan): F02, F03."""
SALE_GRACE_MS = DAY_MS
"""F04: a fuelling with no POS sale one day after it (station data time)."""
INIT_GRACE_MS = 7 * DAY_MS
"""F07: a replaced component must be initialised by an inspector within 7 days."""
DAY_GRACE_MS = HOUR_MS
"""F09/F10 judge a day once a record one hour past its end arrived (late records of the
day's last minutes still count)."""
WET_STOCK_PERMILLE = 5
WET_STOCK_MIN_ML = 50_000
"""F09 tolerance: max(0.5 % of the day's sales volume, 50 L)."""
ROUND_STEP_FEN = 10_000
ROUND_BELOW_FEN = 100
"""F10: an amount in [¥N·100 − ¥1, ¥N·100) for N ≥ 1."""
ROUND_SHARE = 0.30
ROUND_MIN_FUELLINGS = 20
ROUND_P_VALUE = 1e-6
ROUND_BASE_RATE = 0.02
"""F10: ≥ 30 % of a dispenser's day (of at least 20 fuellings) just under a round amount,
and a one-sided binomial test against the station's other dispensers that day (their rate,
Laplace-smoothed, at least 2 %) below 1e-6."""
_CHUNK = 5000
_LITERAL_CHUNK = 50_000

RULES = (
    Rule(
        "F01",
        "high",
        "油枪加油量与泵码增量不符",
        "Fuellings do not add up to the nozzle's totalizer",
        "两次泵码(累计量)读数之间,该油枪各笔加油量之和与累计量增量之差超过一个显示分度(0.01 L)。"
        "依据 JJG 443-2023 累计量的要求与 GB/T 9081-2023 监控模块的加油记录:"
        "漏报或多报的加油记录、被改写的累计量都在这里显现。",
        "Between two totalizer readings of a nozzle, the sum of its fuellings differs from the "
        "totalizer's increase by more than one display step (0.01 L). After JJG 443-2023 "
        "(totalizer) and GB/T 9081-2023 (monitoring module records): fuellings withheld or "
        "invented, and rewritten totals, show here.",
        "the two totalizer readings",
    ),
    Rule(
        "F02",
        "high",
        "泵码增量与税控装置累计不符",
        "Totalizer and tax-box totals diverge",
        "两次读数之间,加油机累计量(或累计金额)的增量与税控装置的增量之差超过一个显示分度"
        "(0.01 L / 0.01 元)。2024 年全国加油机作弊专项整治查处的后台软件篡改累计数、"
        "偷逃税款即此情形(GB/T 9081-2023 税控要求)。",
        "Between two readings, the dispenser's volume (or amount) total grew by another amount "
        "than the tax-control box's, by more than one display step (0.01 L / 0.01 yuan): the "
        "back-office software cutting cumulative totals to evade tax that the 2024 national "
        "campaign on fuel cheating found (GB/T 9081-2023 tax-control requirements).",
        "the two totalizer readings",
    ),
    Rule(
        "F03",
        "high",
        "金额不等于加油量×单价",
        "Amount is not volume × unit price",
        "一笔加油的金额与 加油量×单价(四舍五入到分)之差超过 0.01 元(JJG 443-2023 付费金额)。",
        "A fuelling's amount differs from volume × unit price (rounded half up to the fen) by "
        "more than 0.01 yuan (JJG 443-2023, amount indication).",
        "the fuelling",
    ),
    Rule(
        "F04",
        "high",
        "收银记录与加油记录不符",
        "POS sale does not match the fuelling",
        "收银(POS)销售记录与加油机签名的加油记录在加油量、金额、单价或油枪上不一致;"
        "或加油一天后仍无销售记录;或销售记录所指的加油记录一天后仍不存在"
        "(2024 年专项整治:交易数据与计量数据实时比对)。",
        "The operator's POS sale differs from the dispenser-signed fuelling in volume, amount, "
        "unit price or nozzle; or a fuelling has no sale one day after it; or a sale names a "
        "fuelling that is still missing a day later (2024 campaign: transaction data compared "
        "with metering data).",
        "the fuelling and/or the sale",
    ),
    Rule(
        "F05",
        "warning",
        "单价与公示价格不符",
        "Unit price differs from the posted price",
        "加油单价与加油开始时有效的站点公示价格(fuel_price)不同(明码标价)。",
        "The fuelling's unit price differs from the station's posted price valid at the "
        "fuelling's start (price display rules).",
        "the posted price and the fuelling",
    ),
    Rule(
        "F06",
        "critical",
        "泵码倒退或跳变",
        "Totalizer going backwards or jumping",
        "一笔加油的起始泵码不等于该油枪上一笔的结束泵码(小于:倒退,严重;大于:跳变,高),"
        "或泵码读数小于上一次读数。JJG 443-2023 要求累计量不可清零、不可倒退;"
        "回调累计数是专项整治查处的作弊手段。",
        "A fuelling's starting totalizer differs from the nozzle's previous ending totalizer "
        "(lower: backwards, critical; higher: a jump, high), or a totalizer reading is below "
        "the previous one. JJG 443-2023: the totalizer cannot be reset or go back; winding it "
        "back is a cheat the 2024 campaign found.",
        "the previous and the current record",
    ),
    Rule(
        "F07",
        "high",
        "更换部件未经检定初始化",
        "Replaced component not initialised by an inspector",
        "加油机报告更换编码器、主板、监控模块或税控装置后 7 天内,无检定员对同一部件新编号的"
        "初始化(配对)记录(GB/T 9081-2023 部件身份绑定;JJG 443-2023 修理后须检定)。",
        "The dispenser reported a replaced encoder, control board, monitoring module or tax box "
        "and no inspector initialised (paired) the same component's new ID within 7 days "
        "(GB/T 9081-2023 component binding; JJG 443-2023: verification after repair).",
        "the component event",
    ),
    Rule(
        "F08",
        "critical",
        "加油机铅封开启或被破坏",
        "Dispenser seal opened or tampered with",
        "监控模块报告计量部位(流量变换器调整、编码器与变换器连接、主板与机壳)的铅封开启或被破坏"
        "(物理+电子双铅封,GB/T 9081-2023;JJG 443-2023 封印)。同步后立即告警。",
        "The monitoring module reported a seal of a metering part (transducer adjustment, "
        "encoder–transducer coupling, control board–housing) opened or tampered with (physical "
        "and electronic double seals, GB/T 9081-2023; JJG 443-2023 sealing). Alarms on sync.",
        "the seal event",
    ),
    Rule(
        "F09",
        "high",
        "油罐进销存不平",
        "Wet-stock reconciliation fails for a tank",
        "按自然日(北京时间)核对油罐:期初液位 + 卸油 − 该罐各油枪加油量 − 期末液位,"
        "差额超过 max(当日销量 0.5 %, 50 L)。作弊主板多计升数时,油罐实际减少的少于销量所示"
        "(2024 年专项整治的主要作弊手段)。",
        "Per tank and local (UTC+8) day: opening level + deliveries − the fuellings of the "
        "tank's nozzles − closing level, beyond max(0.5 % of the day's sales volume, 50 L). A "
        "cheat board over-counts litres, so the tank loses less than the sales say (the main "
        "cheat of the 2024 national campaign).",
        "the opening and closing tank levels and the deliveries",
    ),
    Rule(
        "F10",
        "warning",
        "加油金额异常集中于整数金额之下",
        "Fuellings cluster just under round amounts",
        "某加油机一天中 ≥ 30 % 的加油金额落在 [N×100 元 − 1 元, N×100 元) 内,且与同站其他加油机"
        "相比二项检验显著(p < 10⁻⁶):预置金额加油时少付油量的作弊迹象。",
        "≥ 30 % of a dispenser's fuellings of a day end in [¥N·100 − ¥1, ¥N·100), and a binomial "
        "test against the station's other dispensers that day is significant (p < 1e-6): the "
        "mark of a preset-amount cheat that stops short.",
        "the clustered fuellings",
    ),
)
register_rules(RULES)


# ---- running --------------------------------------------------------------------------


def analyse(
    conn: Connection, summary: BatchSummary, closed: list[Closure] | None = None
) -> list[Finding]:
    """Runs F01–F10 over what ``summary`` brought; stores and returns the new findings.
    Findings the batch disproves are closed and listed in ``closed``: an F08 seal opening
    the regulator's verification closed, and an F01/F06 finding whose interval a late
    record completed (see `_disproved`)."""
    new = summary.new_entries
    fuellings = new.get("fuelling", [])
    totalizers = new.get("totalizer", [])
    sales = new.get("fuel_sale", [])
    findings: list[Finding] = []
    passed: list[_Passed] = []
    if fuellings:
        findings += _amount_rule(conn, fuellings)
        findings += _price_rule(conn, fuellings)
        findings += _fuelling_continuity(conn, fuellings, passed)
    if fuellings or totalizers:
        findings += _totalizer_rules(conn, fuellings, totalizers, passed)
    if passed:
        closures = _disproved(conn, passed)
        if closed is not None:
            closed.extend(closures)
    if fuellings or sales:
        findings += _sale_mismatch(conn, fuellings, sales)
    if new.get("fuel_seal"):
        findings += _seal_rule(conn, new["fuel_seal"])
    if new.get("fuel_verification"):
        closures = _seal_closures(conn, new["fuel_verification"])
        if closed is not None:
            closed.extend(closures)
    spans = _station_spans(conn, new)
    if spans:
        findings += _overdue_rules(conn, spans)
    if new.get("tank_level"):
        findings += _wet_stock(conn, new["tank_level"])
    if fuellings:
        findings += _round_amounts(conn, fuellings)
    return insert_findings(conn, findings)


def _rows(
    conn: Connection, sql: str, ids: Sequence[int] | Sequence[str], **params: Any
) -> list[tuple]:
    """``sql`` with ``:ids`` replaced by the given IDs, in chunks.

    Entry indexes (integers) are written into the statement as literals: SQLAlchemy's
    expanding parameters cost about as much as the query itself for a batch's thousands
    of entries (measured), and ``int()`` leaves nothing to inject. Text IDs are bound
    (chunked for SQLite's parameter limit)."""
    out: list[tuple] = []
    if all(type(i) is int for i in ids):
        for start in range(0, len(ids), _LITERAL_CHUNK):
            listed = ",".join(str(int(i)) for i in ids[start : start + _LITERAL_CHUNK])
            stmt = text(sql.replace(":ids", f"({listed})"))
            out.extend(conn.execute(stmt, params).all())
        return out
    bound = text(sql).bindparams(bindparam("ids", expanding=True))
    for start in range(0, len(ids), _CHUNK):
        out.extend(conn.execute(bound, {"ids": list(ids[start : start + _CHUNK]), **params}).all())
    return out


def _ints(rows: Sequence[tuple], column: int) -> np.ndarray:
    """One integer column; Python integers (object) when a value is beyond int64's
    comfortable range, so a signed but absurd value never wraps around silently."""
    values = [row[column] for row in rows]
    try:
        arr = np.array(values, dtype=np.int64)
    except OverflowError:
        return np.array(values, dtype=object)
    if arr.size and int(np.abs(arr).max()) > 2**40:
        return np.array(values, dtype=object)
    return arr


def _nozzle(dispenser_id: str, nozzle: int) -> str:
    return f"{dispenser_id}#{nozzle}"


def local_day_start(t_ms: int) -> int:
    """The start (Unix ms) of the local (UTC+8) day holding ``t_ms``."""
    return (t_ms + CST_OFFSET_MS) // DAY_MS * DAY_MS - CST_OFFSET_MS


# ---- F03: amount = volume × unit price ----------------------------------------------


def _amount_rule(conn: Connection, entries: Sequence[int]) -> list[Finding]:
    rows = _rows(
        conn,
        "SELECT entry_index, dispenser_id, nozzle, stop_ms, volume_ml, price_fen_l, amount_fen "
        "FROM fuellings WHERE entry_index IN :ids",
        entries,
    )
    if not rows:
        return []
    volume, price, amount = _ints(rows, 4), _ints(rows, 5), _ints(rows, 6)
    expected = (volume * price + 500) // 1000
    off = np.abs(amount - expected) > AMOUNT_STEP_FEN
    return [
        Finding(
            "F03",
            rows[i][1],
            _nozzle(rows[i][1], rows[i][2]),
            int(rows[i][3]),
            "high",
            (int(rows[i][0]),),
            {
                "volume_ml": int(volume[i]),
                "price_fen_l": int(price[i]),
                "amount_fen": int(amount[i]),
                "expected_fen": int(expected[i]),
            },
        )
        for i in np.flatnonzero(off)
    ]


# ---- F05: the posted price ----------------------------------------------------------


def _price_rule(conn: Connection, entries: Sequence[int]) -> list[Finding]:
    rows = _rows(
        conn,
        "SELECT f.entry_index, f.dispenser_id, f.nozzle, f.start_ms, f.price_fen_l, "
        "p.entry_index, p.price_fen_l FROM fuellings f JOIN fuel_prices p ON p.entry_index = ("
        " SELECT q.entry_index FROM fuel_prices q WHERE q.station_id = f.station_id"
        " AND q.product = f.product AND q.valid_from_ms <= f.start_ms"
        " ORDER BY q.valid_from_ms DESC, q.entry_index DESC LIMIT 1) "
        "WHERE f.entry_index IN :ids AND p.price_fen_l <> f.price_fen_l",
        entries,
    )
    return [
        Finding(
            "F05",
            d,
            _nozzle(d, n),
            int(start),
            "warning",
            (int(p_entry), int(entry)),
            {"price_fen_l": int(price), "posted_fen_l": int(posted)},
        )
        for entry, d, n, start, price, p_entry, posted in rows
    ]


# ---- F01/F06 closures: an interval a late record completed -----------------------------


@dataclass(frozen=True)
class _Passed:
    """A nozzle interval judged again and found consistent: the F01 interval ending at the
    reading at ``at_ms``, or the F06 step into the fuelling that started at ``at_ms``."""

    rule_id: str
    meter_id: str
    at_ms: int
    entry: int


_F06_FUELLING_KINDS = frozenset({"jump", "backwards"})


def _disproved(conn: Connection, passed: Sequence[_Passed]) -> list[Closure]:
    """Closes the open F01/F06 findings that the same interval, judged again with the
    records that arrived since, no longer supports.

    Why: the log's order is the order records reached the platform, not the order they
    happened. A station posts over several connections and a module back-fills after an
    outage, so a totalizer reading can be synced before a fuelling that stopped just before
    it, and a fuelling before its predecessor. The rule judges what it has (an alarm must
    not wait for data that may never come) and, like the charging rules, closes the finding
    with an audit entry naming the record that completed the interval."""
    by_meter = {(p.rule_id, p.meter_id, p.at_ms): p for p in passed}
    meters = sorted({p.meter_id for p in passed})
    a = st.anomalies
    items: list[tuple[Finding, int | None, str]] = []
    for start in range(0, len(meters), _CHUNK):
        rows = conn.execute(
            select(a.c.id, a.c.rule_id, a.c.pile_id, a.c.meter_id, a.c.at_ms, a.c.detail).where(
                a.c.rule_id.in_(("F01", "F06")),
                a.c.closed_at.is_(None),
                a.c.meter_id.in_(meters[start : start + _CHUNK]),
            )
        ).all()
        for anomaly_id, rule_id, pile_id, meter_id, at_ms, detail in rows:
            hit = by_meter.get((rule_id, meter_id, int(at_ms)))
            if hit is None:
                continue
            if rule_id == "F06" and (detail or {}).get("kind") not in _F06_FUELLING_KINDS:
                continue  # a reading below the previous one: no later record changes it
            finding = Finding(
                rule_id, pile_id, meter_id, int(at_ms), "high", (), anomaly_id=int(anomaly_id)
            )
            reason = f"interval completed: judged again at entry {hit.entry}"
            items.append((finding, hit.entry, reason))
    return close_findings(conn, items)


# ---- F06 (fuellings): a nozzle's totalizer from fuelling to fuelling ---------------------

_NEIGHBOURS = (
    "SELECT n.entry_index,"
    " (SELECT p.entry_index FROM {t} p WHERE p.dispenser_id = n.dispenser_id"
    "  AND p.nozzle = n.nozzle AND p.{c} <= n.{c}"
    "  AND (p.{c} < n.{c} OR p.entry_index < n.entry_index)"
    "  ORDER BY p.{c} DESC, p.entry_index DESC LIMIT 1),"
    " (SELECT x.entry_index FROM {t} x WHERE x.dispenser_id = n.dispenser_id"
    "  AND x.nozzle = n.nozzle AND x.{c} >= n.{c}"
    "  AND (x.{c} > n.{c} OR x.entry_index > n.entry_index)"
    "  ORDER BY x.{c} ASC, x.entry_index ASC LIMIT 1) "
    "FROM {t} n WHERE n.entry_index IN :ids"
)


def _pairs(conn: Connection, table: str, tcol: str, entries: Sequence[int]) -> set[tuple[int, int]]:
    """(previous, next) entry pairs on the same nozzle, in (time, entry) order, that
    involve one of ``entries``: each new row with its predecessor and its successor (a
    back-filled row sits between two stored ones)."""
    pairs: set[tuple[int, int]] = set()
    for entry, prev, nxt in _rows(conn, _NEIGHBOURS.format(t=table, c=tcol), entries):
        if prev is not None:
            pairs.add((int(prev), int(entry)))
        if nxt is not None:
            pairs.add((int(entry), int(nxt)))
    return pairs


def _by_entry(
    conn: Connection, table: str, columns: str, entries: Iterable[int]
) -> dict[int, tuple]:
    ids = sorted(set(entries))
    rows = _rows(conn, f"SELECT entry_index, {columns} FROM {table} WHERE entry_index IN :ids", ids)
    return {int(r[0]): r for r in rows}


def _fuelling_continuity(
    conn: Connection, entries: Sequence[int], passed: list[_Passed]
) -> list[Finding]:
    pairs = sorted(_pairs(conn, "fuellings", "stop_ms", entries))
    if not pairs:
        return []
    got = _by_entry(
        conn,
        "fuellings",
        "dispenser_id, nozzle, start_ms, total_before_ml, total_after_ml",
        (e for pair in pairs for e in pair),
    )
    rows = [(got[p], got[n]) for p, n in pairs]
    after = _ints([p for p, _ in rows], 5)
    before = _ints([n for _, n in rows], 4)
    out = []
    new = set(entries)
    for i in np.flatnonzero(after == before):
        prev, cur = rows[i]
        by = int(cur[0]) if int(cur[0]) in new else int(prev[0])
        passed.append(_Passed("F06", _nozzle(cur[1], cur[2]), int(cur[3]), by))
    for i in np.flatnonzero(after != before):
        prev, cur = rows[i]
        back = before[i] < after[i]
        out.append(
            Finding(
                "F06",
                cur[1],
                _nozzle(cur[1], cur[2]),
                int(cur[3]),
                "critical" if back else "high",
                (int(prev[0]), int(cur[0])),
                {
                    "kind": "backwards" if back else "jump",
                    "previous_total_after_ml": int(after[i]),
                    "total_before_ml": int(before[i]),
                },
            )
        )
    return out


# ---- F01, F02, F06 (readings): between consecutive totalizer readings ---------------

_NEXT_READING = (
    "SELECT f.entry_index, (SELECT x.entry_index FROM totalizers x"
    " WHERE x.dispenser_id = f.dispenser_id AND x.nozzle = f.nozzle AND x.at_ms >= f.stop_ms"
    " ORDER BY x.at_ms ASC, x.entry_index ASC LIMIT 1) FROM fuellings f WHERE f.entry_index IN :ids"
)
_SUM_BETWEEN = (
    "SELECT COALESCE(SUM(volume_ml), 0), COUNT(*) FROM fuellings WHERE dispenser_id = :d"
    " AND nozzle = :n AND stop_ms > :a AND stop_ms <= :b"
)


def _totalizer_rules(
    conn: Connection, fuellings: Sequence[int], totalizers: Sequence[int], passed: list[_Passed]
) -> list[Finding]:
    pairs = _pairs(conn, "totalizers", "at_ms", totalizers) if totalizers else set()
    completed_by: dict[int, int] = {}  # reading -> the newest late fuelling before it
    if fuellings:
        # a fuelling that arrives after the readings around it: its pair is judged again
        for fuelling, reading in _rows(conn, _NEXT_READING, fuellings):
            if reading is not None:
                completed_by[int(reading)] = max(int(fuelling), completed_by.get(int(reading), -1))
        closing = set(completed_by)
        pairs |= {
            p for p in _pairs(conn, "totalizers", "at_ms", sorted(closing)) if p[1] in closing
        }
    if not pairs:
        return []
    got = _by_entry(
        conn,
        "totalizers",
        "dispenser_id, nozzle, at_ms, volume_total_ml, amount_total_fen, "
        "tax_volume_total_ml, tax_amount_total_fen",
        (e for pair in pairs for e in pair),
    )
    out: list[Finding] = []
    stmt = text(_SUM_BETWEEN)
    for p_entry, n_entry in sorted(pairs):
        prev, cur = got[p_entry], got[n_entry]
        d, n, a, b = cur[1], cur[2], int(prev[3]), int(cur[3])
        evidence = (p_entry, n_entry)
        where = _nozzle(d, n)
        d_vol, d_amt = cur[4] - prev[4], cur[5] - prev[5]
        d_tax_vol, d_tax_amt = cur[6] - prev[6], cur[7] - prev[7]
        if d_vol < 0:
            out.append(
                Finding(
                    "F06",
                    d,
                    where,
                    b,
                    "critical",
                    evidence,
                    {
                        "kind": "reading backwards",
                        "previous_total_ml": int(prev[4]),
                        "total_ml": int(cur[4]),
                    },
                )
            )
        if abs(d_vol - d_tax_vol) > VOLUME_STEP_ML or abs(d_amt - d_tax_amt) > AMOUNT_STEP_FEN:
            out.append(
                Finding(
                    "F02",
                    d,
                    where,
                    b,
                    "high",
                    evidence,
                    {
                        "delta_volume_ml": int(d_vol),
                        "delta_tax_volume_ml": int(d_tax_vol),
                        "delta_amount_fen": int(d_amt),
                        "delta_tax_amount_fen": int(d_tax_amt),
                    },
                )
            )
        sold, count = conn.execute(stmt, {"d": d, "n": n, "a": a, "b": b}).one()
        if abs(int(sold) - d_vol) <= VOLUME_STEP_ML:
            passed.append(_Passed("F01", where, b, completed_by.get(n_entry, n_entry)))
        else:
            out.append(
                Finding(
                    "F01",
                    d,
                    where,
                    b,
                    "high",
                    evidence,
                    {
                        "fuellings_ml": int(sold),
                        "fuellings": int(count),
                        "delta_totalizer_ml": int(d_vol),
                        "from_ms": a,
                        "to_ms": b,
                    },
                )
            )
    _refresh_details(conn, [f for f in out if f.rule_id == "F01"])
    return out


def _refresh_details(conn: Connection, findings: Sequence[Finding]) -> None:
    """An interval judged again with late fuellings that still fails keeps its stored
    finding (same rule and evidence): its figures are brought up to date, so the regulator
    reads the shortfall that remains, not the one the missing fuelling made."""
    a = st.anomalies
    for f in findings:
        conn.execute(
            update(a)
            .where(a.c.rule_id == f.rule_id, a.c.evidence_key == f.evidence_key)
            .where(a.c.closed_at.is_(None))
            .values(detail=dict(f.detail))
        )


# ---- F04: POS sale vs fuelling --------------------------------------------------------

_SALE_PAIRS = (
    "SELECT f.entry_index, s.entry_index, f.dispenser_id, f.nozzle, f.stop_ms,"
    " f.volume_ml, s.volume_ml, f.amount_fen, s.amount_fen, f.price_fen_l, s.price_fen_l,"
    " s.dispenser_id, s.nozzle"
    " FROM fuellings f JOIN fuel_sales s ON s.fuelling_id = f.fuelling_id"
    " WHERE {side}.entry_index IN :ids AND (f.volume_ml <> s.volume_ml"
    " OR f.amount_fen <> s.amount_fen OR f.price_fen_l <> s.price_fen_l"
    " OR f.dispenser_id <> s.dispenser_id OR f.nozzle <> s.nozzle)"
)


def _sale_mismatch(
    conn: Connection, fuellings: Sequence[int], sales: Sequence[int]
) -> list[Finding]:
    rows = set(_rows(conn, _SALE_PAIRS.format(side="f"), fuellings)) if fuellings else set()
    if sales:
        rows |= set(_rows(conn, _SALE_PAIRS.format(side="s"), sales))
    out = []
    for f_entry, s_entry, d, n, stop, fv, sv, fa, sa, fp, sp, sd, sn in sorted(rows):
        out.append(
            Finding(
                "F04",
                d,
                _nozzle(d, n),
                int(stop),
                "high",
                (int(f_entry), int(s_entry)),
                {
                    "kind": "mismatch",
                    "fuelling": {"volume_ml": fv, "amount_fen": fa, "price_fen_l": fp, "nozzle": n},
                    "sale": {"volume_ml": sv, "amount_fen": sa, "price_fen_l": sp, "nozzle": sn},
                    **({"sale_dispenser_id": sd} if sd != d else {}),
                },
            )
        )
    return out


# ---- F04 (no sale / no fuelling) and F07: judged in the station's data time ---------

_SPAN_SOURCES = (
    ("fuelling", "fuellings", "stop_ms"),
    ("fuel_sale", "fuel_sales", "at_ms"),
    ("totalizer", "totalizers", "at_ms"),
    ("tank_level", "tank_levels", "at_ms"),
    ("fuel_seal", "fuel_seal_events", "at_ms"),
    ("component", "components", "at_ms"),
)


def _station_spans(
    conn: Connection, new: Mapping[str, Sequence[int]]
) -> dict[str, tuple[int, int]]:
    """{station: (earliest, latest) record time} of the batch's fuel records."""
    spans: dict[str, tuple[int, int]] = {}
    for rtype, table, tcol in _SPAN_SOURCES:
        entries = new.get(rtype)
        if not entries:
            continue
        sql = (
            f"SELECT station_id, MIN({tcol}), MAX({tcol}) FROM {table} "
            "WHERE entry_index IN :ids GROUP BY station_id"
        )
        for station, lo, hi in _rows(conn, sql, entries):
            old = spans.get(station)
            lo, hi = int(lo), int(hi)
            spans[station] = (min(lo, old[0]), max(hi, old[1])) if old else (lo, hi)
    return spans


_NO_SALE = (
    "SELECT f.entry_index, f.dispenser_id, f.nozzle, f.stop_ms FROM fuellings f"
    " WHERE f.station_id = :s AND f.stop_ms > :a AND f.stop_ms <= :b"
    " AND NOT EXISTS (SELECT 1 FROM fuel_sales x WHERE x.fuelling_id = f.fuelling_id)"
)
_NO_FUELLING = (
    "SELECT s.entry_index, s.dispenser_id, s.nozzle, s.at_ms, s.fuelling_id FROM fuel_sales s"
    " WHERE s.dispenser_id IN (SELECT dispenser_id FROM dispensers WHERE station_id = :s)"
    " AND s.at_ms > :a AND s.at_ms <= :b"
    " AND NOT EXISTS (SELECT 1 FROM fuellings x WHERE x.fuelling_id = s.fuelling_id)"
)
_NO_INIT = (
    "SELECT c.entry_index, c.dispenser_id, c.at_ms, c.component, c.old_id, c.new_id"
    " FROM components c"
    " WHERE c.dispenser_id IN (SELECT dispenser_id FROM dispensers WHERE station_id = :s)"
    " AND c.at_ms > :a AND c.at_ms <= :b"
    " AND NOT EXISTS (SELECT 1 FROM component_inits i WHERE i.dispenser_id = c.dispenser_id"
    " AND i.component = c.component AND i.new_id = c.new_id AND i.at_ms <= c.at_ms + :g)"
)


def _overdue_rules(conn: Connection, spans: Mapping[str, tuple[int, int]]) -> list[Finding]:
    """Records whose deadline the batch's data time passed. For a station whose records of
    this batch span [lo, hi], deadlines after the station's previous data time (its last
    fuelling before ``lo``, looked back at most two days; less an hour for records of other
    signers arriving a little out of order) and up to ``hi`` are judged now. A busy
    station's window is the batch's few minutes; a quiet one's at most two days."""
    previous = text("SELECT MAX(stop_ms) FROM fuellings WHERE station_id = :s AND stop_ms < :lo")
    out: list[Finding] = []
    no_sale, no_fuelling, no_init = text(_NO_SALE), text(_NO_FUELLING), text(_NO_INIT)
    for station, (lo, hi) in sorted(spans.items()):
        before = conn.execute(previous, {"s": station, "lo": lo}).scalar()
        since = min(lo, max(int(before) if before is not None else 0, lo - 2 * DAY_MS)) - HOUR_MS
        a, b = since - SALE_GRACE_MS, hi - SALE_GRACE_MS
        for entry, d, n, stop in conn.execute(no_sale, {"s": station, "a": a, "b": b}):
            out.append(
                Finding(
                    "F04", d, _nozzle(d, n), int(stop), "high", (int(entry),), {"kind": "no sale"}
                )
            )
        for entry, d, n, at, fid in conn.execute(no_fuelling, {"s": station, "a": a, "b": b}):
            out.append(
                Finding(
                    "F04",
                    d,
                    _nozzle(d, n),
                    int(at),
                    "high",
                    (int(entry),),
                    {"kind": "no fuelling", "fuelling_id": fid},
                )
            )
        a, b = since - INIT_GRACE_MS, hi - INIT_GRACE_MS
        params = {"s": station, "a": a, "b": b, "g": INIT_GRACE_MS}
        for entry, d, at, component, old_id, new_id in conn.execute(no_init, params):
            out.append(
                Finding(
                    "F07",
                    d,
                    None,
                    int(at),
                    "high",
                    (int(entry),),
                    {"component": component, "old_id": old_id, "new_id": new_id},
                )
            )
    return out


# ---- F08: seals ------------------------------------------------------------------------


def _seal_rule(conn: Connection, entries: Sequence[int]) -> list[Finding]:
    rows = _rows(
        conn,
        "SELECT entry_index, dispenser_id, at_ms, position, event, volume_total_ml "
        "FROM fuel_seal_events s WHERE entry_index IN :ids AND event IN ('opened', 'tamper')"
        # as R11 for piles: a seal-closing verification of the dispenser after the opening
        # (the inspector's own seal break) leaves nothing to report
        " AND NOT EXISTS (SELECT 1 FROM fuel_verifications v WHERE v.dispenser_id ="
        " s.dispenser_id AND v.seal_closed AND v.at_ms >= s.at_ms)",
        entries,
    )
    return [
        Finding(
            "F08",
            d,
            None,
            int(at),
            "critical",
            (int(entry),),
            {"position": position, "event": event, "volume_total_ml": int(total)},
        )
        for entry, d, at, position, event, total in rows
    ]


def _seal_closures(conn: Connection, verifications: Sequence[int]) -> list[Closure]:
    """Closes the open F08 findings a seal-closing verification disproves: openings of the
    same dispenser at or before the verification (the alarm then resolves as disproved)."""
    items: list[tuple[Finding, int | None, str]] = []
    rows = _rows(
        conn,
        "SELECT entry_index, dispenser_id, at_ms FROM fuel_verifications"
        " WHERE entry_index IN :ids AND seal_closed",
        verifications,
    )
    for entry, dispenser, at_ms in rows:
        found = conn.execute(
            text(
                "SELECT id, at_ms FROM anomalies WHERE rule_id = 'F08' AND closed_at IS NULL"
                " AND pile_id = :d AND at_ms <= :at"
            ),
            {"d": dispenser, "at": int(at_ms)},
        )
        for anomaly_id, opened_ms in found:
            finding = Finding(
                "F08", dispenser, None, int(opened_ms), "critical", (), anomaly_id=anomaly_id
            )
            items.append((finding, int(entry), f"seal closed by verification entry {entry}"))
    return close_findings(conn, items)


# ---- F09: wet stock per tank and local day ---------------------------------------------

_LEVEL_AT = (
    "SELECT entry_index, at_ms, volume_ml FROM tank_levels WHERE tank_id = :t AND at_ms <= :at"
    " ORDER BY at_ms DESC, entry_index DESC LIMIT 1"
)
_EARLIER_PAST = (
    "SELECT 1 FROM tank_levels WHERE tank_id = :t AND at_ms >= :since AND at_ms < :lo LIMIT 1"
)
_DELIVERIES = (
    "SELECT entry_index, volume_ml FROM tank_deliveries WHERE tank_id = :t"
    " AND at_ms > :a AND at_ms <= :b"
)
_TANK_SALES = (
    "SELECT COALESCE(SUM(f.volume_ml), 0), COUNT(*) FROM nozzles z JOIN fuellings f"
    " ON f.dispenser_id = z.dispenser_id AND f.nozzle = z.nozzle"
    " WHERE z.tank_id = :t AND f.stop_ms > :a AND f.stop_ms <= :b"
)


def _day_ends(lo: int, hi: int) -> range:
    """Ends of the local days a batch whose records span [lo, hi] completes: days whose
    end plus the grace hour is at or before ``hi``, from the one before ``lo`` on (the
    caller skips days an earlier batch already judged)."""
    return range(local_day_start(lo - DAY_GRACE_MS), local_day_start(hi - DAY_GRACE_MS) + 1, DAY_MS)


def _wet_stock(conn: Connection, entries: Sequence[int]) -> list[Finding]:
    """Judges (tank, day) once: in the batch that brings the tank's first level reading
    at least an hour past the day's end."""
    spans = _rows(
        conn,
        "SELECT tank_id, MIN(at_ms), MAX(at_ms) FROM tank_levels WHERE entry_index IN :ids "
        "GROUP BY tank_id",
        entries,
    )
    tank_station = dict(
        _rows(
            conn,
            "SELECT tank_id, station_id FROM tanks WHERE tank_id IN :ids",
            sorted(t for t, _, _ in spans),
        )
    )
    earlier, level_at = text(_EARLIER_PAST), text(_LEVEL_AT)
    deliveries, sales = text(_DELIVERIES), text(_TANK_SALES)
    out = []
    for tank, lo, hi in sorted(spans):
        lo, hi = int(lo), int(hi)
        for end in _day_ends(lo, hi):
            if conn.execute(earlier, {"t": tank, "since": end + DAY_GRACE_MS, "lo": lo}).first():
                continue  # a stored reading was already past the grace: judged before
            station = tank_station.get(tank)
            finding = _tank_day(conn, tank, station, end, level_at, deliveries, sales)
            if finding is not None:
                out.append(finding)
    return out


def _tank_day(
    conn: Connection,
    tank: str,
    station: str | None,
    end: int,
    level_at: Any,
    deliveries: Any,
    sales: Any,
) -> Finding | None:
    """F09 for one tank and the local day ending at ``end``: opening = the last reading at
    or before the day's start, closing = the last at or before its end; deliveries and the
    fuellings of the tank's nozzles between the two readings."""
    start = end - DAY_MS
    opening = conn.execute(level_at, {"t": tank, "at": start}).first()
    closing = conn.execute(level_at, {"t": tank, "at": end}).first()
    if opening is None or closing is None or closing[1] <= opening[1]:
        return None
    a, b = int(opening[1]), int(closing[1])
    dlv = conn.execute(deliveries, {"t": tank, "a": a, "b": b}).all()
    sold, count = conn.execute(sales, {"t": tank, "a": a, "b": b}).one()
    delivered, sold = sum(int(v) for _, v in dlv), int(sold)
    loss = int(opening[2]) + delivered - sold - int(closing[2])
    # beyond max(0.5 % of sales, 50 L), in integers: |loss| > sold·5/1000 and |loss| > 50 L
    if abs(loss) * 1000 <= sold * WET_STOCK_PERMILLE or abs(loss) <= WET_STOCK_MIN_ML:
        return None
    return Finding(
        "F09",
        tank,
        tank,
        b,
        "high",
        tuple(sorted({int(opening[0]), int(closing[0]), *(int(e) for e, _ in dlv)})),
        {
            "station_id": station,
            "day_start_ms": start,
            "opening_ml": int(opening[2]),
            "deliveries_ml": delivered,
            "sales_ml": sold,
            "fuellings": int(count),
            "closing_ml": int(closing[2]),
            "loss_ml": loss,
            "tolerance_ml": max(sold * WET_STOCK_PERMILLE // 1000, WET_STOCK_MIN_ML),
            "meaning": "tank lost less than sold" if loss < 0 else "tank lost more than sold",
        },
    )


# ---- F10: amounts just under round figures ---------------------------------------------

_STATION_DAY = (
    "SELECT dispenser_id, COUNT(*),"
    " SUM(CASE WHEN amount_fen >= :step - :below AND amount_fen % :step >= :step - :below"
    " THEN 1 ELSE 0 END)"
    " FROM fuellings WHERE station_id = :s AND stop_ms >= :a AND stop_ms < :b"
    " GROUP BY dispenser_id"
)
_CLUSTERED = (
    "SELECT entry_index FROM fuellings WHERE station_id = :s AND dispenser_id = :d"
    " AND stop_ms >= :a AND stop_ms < :b"
    " AND amount_fen >= :step - :below AND amount_fen % :step >= :step - :below"
)
_STATION_EARLIER = (
    "SELECT 1 FROM fuellings WHERE station_id = :s AND stop_ms >= :since AND stop_ms < :lo LIMIT 1"
)


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X ≥ k) for X ~ Binomial(n, p), summed in log space (n is a day's fuellings)."""
    if k <= 0:
        return 1.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    logs = [
        math.lgamma(n + 1)
        - math.lgamma(i + 1)
        - math.lgamma(n - i + 1)
        + i * math.log(p)
        + (n - i) * math.log1p(-p)
        for i in range(k, n + 1)
    ]
    top = max(logs)
    return min(1.0, math.exp(top) * sum(math.exp(v - top) for v in logs))


def _round_amounts(conn: Connection, entries: Sequence[int]) -> list[Finding]:
    """Judges (station, day) once: when the batch brings the station's first fuelling at
    least an hour past the day's end."""
    rows = _rows(
        conn,
        "SELECT station_id, MIN(stop_ms), MAX(stop_ms) FROM fuellings WHERE entry_index IN :ids "
        "GROUP BY station_id",
        entries,
    )
    earlier, day_sql, clustered = text(_STATION_EARLIER), text(_STATION_DAY), text(_CLUSTERED)
    out: list[Finding] = []
    for station, lo, hi in sorted(rows):
        lo, hi = int(lo), int(hi)
        for end in _day_ends(lo, hi):
            since = end + DAY_GRACE_MS
            if conn.execute(earlier, {"s": station, "since": since, "lo": lo}).first():
                continue  # a stored fuelling was already past the grace: judged before
            window = {"s": station, "a": end - DAY_MS, "b": end}
            amounts = {"step": ROUND_STEP_FEN, "below": ROUND_BELOW_FEN}
            counts = {
                d: (int(n), int(k or 0)) for d, n, k in conn.execute(day_sql, {**window, **amounts})
            }
            out += _round_findings(conn, clustered, station, window, amounts, counts)
    return out


def _round_findings(
    conn: Connection,
    clustered: Any,
    station: str,
    window: Mapping[str, Any],
    amounts: Mapping[str, int],
    counts: Mapping[str, tuple[int, int]],
) -> list[Finding]:
    all_n = sum(n for n, _ in counts.values())
    all_k = sum(k for _, k in counts.values())
    out = []
    for d, (n, k) in sorted(counts.items()):
        if n < ROUND_MIN_FUELLINGS or k < ROUND_SHARE * n:
            continue
        others_n, others_k = all_n - n, all_k - k
        base = max((others_k + 1) / (others_n + 2), ROUND_BASE_RATE)
        p_value = binomial_tail(k, n, base)
        if p_value >= ROUND_P_VALUE:
            continue
        evidence = tuple(int(e) for (e,) in conn.execute(clustered, {**window, **amounts, "d": d}))
        out.append(
            Finding(
                "F10",
                d,
                None,
                int(window["b"]) - 1,
                "warning",
                evidence,
                {
                    "station_id": station,
                    "day_start_ms": int(window["a"]),
                    "fuellings": n,
                    "just_under_round": k,
                    "station_others": others_n,
                    "station_others_just_under": others_k,
                    "base_rate": base,
                    "p_value": p_value,
                },
            )
        )
    return out


# ---- dispenser status ------------------------------------------------------------------


def refresh_dispenser_status(conn: Connection, instrument_id: str, rules: frozenset[str]) -> None:
    """Keeps ``dispensers.status`` in step with the instrument's open alarms (the alarm
    workflow calls it through `app.models.alarms.STATUS_HOOKS`): ``seal_open`` while an F08
    alarm is open, ``alarm`` while any other is, else ``normal``. A charging pile's ID
    matches no dispenser row, so the update is a no-op for piles."""
    status = "seal_open" if "F08" in rules else "alarm" if rules else "normal"
    conn.execute(
        update(ft.dispensers)
        .where(ft.dispensers.c.dispenser_id == instrument_id, ft.dispensers.c.status != status)
        .values(status=status)
    )
