"""The anomaly rules catalogue and the engine that runs it over the store.

Each rule is a metrology or billing check a regulator of Hangzhou's 安心充电 platform makes
on the signed ledger: metered vs billed energy, price vs the posted time-of-use tariff,
register continuity, physically impossible energy, duplicates, meter clock error, silent
meters, electronic seals and meter keys. A rule yields :class:`Finding` objects citing the
*entry indexes* of the signed records it rests on (so every finding can be traced to its
inclusion proof) and the engine stores them in ``anomalies`` idempotently: the unique
``(rule_id, evidence_key)`` makes a rescan insert nothing new.

Why this shape:

* **Vectorised.** A city produces ~28k sessions and ~400k heartbeats a day and a year is
  10 M sessions, so rules never loop per row in Python. Every rule is a numpy mask over
  columns sorted by (meter, time): "previous session on this meter" is a shift, the
  running maximum of stop times is an accumulate over a (meter, time) key, tariff look-up
  is a ``searchsorted``. Python only builds the (rare) findings.
* **Two loaders, one rule set.** The incremental run after each synced batch
  (:func:`run_incremental`) loads a time window of the touched meters with plain SQL
  (``IN`` lists and index probes; the same on SQLite and PostgreSQL); heartbeats, 10×
  more numerous, are filtered in the database (``LAG``/``LEAD``) so only candidates
  come back. The full rescan (:func:`full_rescan`) instead reads the packed analysis
  facts the projection writes (:mod:`app.models.charging.facts`) for a range of piles at a time,
  their whole history at once, heartbeats included, at ~2 M blobs/s; a bill is priced
  from its session's hour weights where that is exact. Both feed the same rule
  functions, and a test holds the two to the same findings on a simulated faulty fleet.
* **Context rows.** An incremental window starts at the batch's earliest record time;
  for each meter the last row *before* it is loaded as context: it feeds the "previous
  session / previous heartbeat" comparisons but never produces a finding itself.
* **Data time, not wall time.** "Silent" is judged by the records' own times: a silence
  still going on against the newest data of the meter's station feed (not the city's
  newest record, nor the wall clock): the demo's clock is simulated, a store replayed from
  a year-old log must not find every meter silent, and a gateway's lagging connection
  must not silence the meters of others.
* **Late data closes what it disproves** (:func:`close_disproved`): gateways post on
  several connections and back-fill, so the log is not in time order. A finding the
  batch's records disprove is closed (audited, with the closing entry), one derived again
  is reopened; the full rescan closes what it no longer derives. The sync path and the
  rescan reach the same open findings on any arrival order (docs/rules.md).

R14 (meter energy vs its own power profile) is the check that catches a mis-measuring
meter: the operator bills the metered energy, so R01 (billed vs metered) cannot see it.

Schema notes: sessions are read by (meter_id, start_ms) (migration 0005) and their facts
are filed under the meter's registry pile, so a session naming another pile than its
meter's registry record counts on the meter's pile in both paths (R25 names the mismatch);
``meter_keys`` has no time column, so R12 findings are dated by the meter record.

R15–R27 (issue 14) are anchored on QualiCharge's published data rules and documented,
with the severity policy, in docs/rules.md.

R13 (signature failure) is not here on purpose: an entry whose signature fails never
reaches the store — the sync halts and raises its own alarm (rule_id ``"L1"``).
"""

from __future__ import annotations

import bisect
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Connection, bindparam, text

from app.models import store as st
from app.models.charging import facts
from app.models.findings import (
    CATALOGUE,
    Closure,
    Finding,
    Rule,
    close_findings,
    insert_findings,
    open_findings,
    register_rules,
)
from app.models.projection import BatchSummary

RESOLUTION_WH = 10
"""One register resolution step (0.01 kWh): added to every energy tolerance."""
CLASS_PERMILLE = {"0.5": 5, "1": 10, "2": 20}
"""Accuracy class → maximum permissible error in ‰ (JJG 1148/1149: class 1 ±1 %, 2 ±2 %)."""
UNKNOWN_CLASS_PERMILLE = 20
"""A meter with no registry record is judged at the most lenient class (2)."""
PAY_STEP_FEN = 1
"""Minimum pay step, 0.01 yuan: the payment-amount error allowance of JJG 1149-2018."""
CLOCK_WARN_MS = 5_000
"""Clock error limit at first verification (≤ 5 s)."""
CLOCK_HIGH_MS = 180_000
"""Clock error limit at subsequent verification (≤ 3 min)."""
OVER_POWER_NUM, OVER_POWER_DEN = 11, 10
"""Energy above rated power × duration × 1.1 cannot have been delivered."""
SILENT_FACTOR = 2
"""A meter is silent after this many missed heartbeat intervals."""
CST_OFFSET_MS = 8 * 3_600_000
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MAX_SESSION_MS = 3 * DAY_MS
"""R15: QualiCharge's "duration < 3 days"; longer is a stop that never reached the log."""
MAX_SESSION_WH = 500_000
"""R16: QualiCharge's "energy < 500 kWh" per session (a 600 kWh bus pack charges twice)."""
MAX_SESSIONS_PER_DAY = 50
"""R18: QualiCharge's "≤ 50 sessions per point per day", per connector (meter), local day."""
RATED_MIN_W, RATED_MAX_W = 1_300, 4_000_000
"""R19: QualiCharge's plausible rated power of a charging point, 1.3 kW – 4,000 kW."""
REGISTER_GAP_ALARM_WH = 1_000
"""R04 opens an alarm (high) above 1 kWh unaccounted (a 25 kWh gap is a car's charge)."""
UNBILLED_GRACE_MS = DAY_MS
"""R21: a session is unbilled once its meter's own data runs a day past its stop."""
WITHHELD_MS = 2 * DAY_MS
"""R27: heartbeats absent this long while the meter's sessions go on: data withheld."""
_IN_CHUNK = 5000
_KEY_SHIFT = np.int64(1 << 42)
"""(code, time) pairs as one int64: Unix ms < 2^42 until the year 2109."""


# ---- catalogue -----------------------------------------------------------------------


register_rules(
    (
        Rule(
            "R01",
            "high",
            "计量与结算电量不符(计量误差/多收费)",
            "Metered and billed energy differ",
            "结算电量 billed_wh 与计量电量 energy_wh 之差超出电能表准确度等级允许误差"
            "(1级 ±1%,2级 ±2%,另加一个显示分辨力 10 Wh)。结算多于计量即为多收费。",
            "The operator's billed energy differs from the meter's energy by more than the "
            "meter's accuracy class (class 1 ±1 %, class 2 ±2 %) plus one 10 Wh register step. "
            "Billing more than was metered overcharges the driver.",
            "session entry, billing entry",
        ),
        Rule(
            "R02",
            "high",
            "收费金额高于公示分时电价(多收费)",
            "Amount above the posted time-of-use tariff",
            "按公示分时电价(峰谷平尖)和功率曲线对计量电量重新计价,结算金额超出"
            "计算值一个最小付费单位(0.01元)以上。",
            "The bill's amount exceeds, by more than the 0.01-yuan pay step, the charge "
            "recomputed from the posted ToU tariff for the metered energy, split across ToU "
            "periods by the session's power profile.",
            "billing entry, session entry, tariff entry",
        ),
        Rule(
            "R03",
            "high",
            "电能表示值倒走",
            "Meter register went backwards",
            "本次充电起始示值小于同一电能表上一次充电的结束示值。",
            "A session's start register is below the previous session's stop register on the "
            "same meter.",
            "previous session entry, session entry",
        ),
        Rule(
            "R04",
            "warning",
            "电能表示值跳变(电量去向不明)",
            "Register jump: energy unaccounted for",
            "本次充电起始示值比上一次结束示值多出一个分辨力以上,中间电量无对应充电记录。",
            "A session's start register exceeds the previous stop register by more than one "
            "10 Wh step: energy passed through the meter with no session to account for it.",
            "previous session entry, session entry",
        ),
        Rule(
            "R05",
            "high",
            "电量超过额定功率上限",
            "Energy above the pile's rated power",
            "充电电量大于额定功率 × 充电时长 × 1.1,物理上不可能。",
            "Session energy exceeds rated power × duration × 1.1: physically impossible.",
            "session entry",
        ),
        Rule(
            "R06",
            "high",
            "零时长充电有电量",
            "Energy in a zero-length session",
            "充电结束时间不晚于开始时间,却记录了电量。",
            "The session stops no later than it starts yet records energy.",
            "session entry",
        ),
        Rule(
            "R07",
            "high",
            "同一充电接口充电时段重叠",
            "Overlapping sessions on one connector",
            "同一电能表(充电接口)的两次充电时间段重叠。",
            "Two sessions on the same meter (connector) overlap in time.",
            "earlier session entry, session entry",
        ),
        Rule(
            "R08",
            "high",
            "重复充电记录(重复收费)",
            "Duplicate session (double charge)",
            "同一电能表上起止时间和电量完全相同的充电记录出现多次(不同的订单号)。",
            "The same meter reports a session with identical start, stop and energy more than "
            "once (under another session ID): the driver may be charged twice.",
            "original session entry, duplicate session entry",
        ),
        Rule(
            "R09",
            "warning",
            "电能表时钟偏差超限",
            "Meter clock offset beyond limit",
            "心跳中电能表时钟与参考时钟之差超过 5 秒(首次检定限值,预警);超过 3 分钟"
            "(后续检定限值,严重)。",
            "A heartbeat's meter clock differs from the reference clock by more than 5 s (the "
            "first-verification limit: warning) or 3 min (the subsequent limit: high).",
            "heartbeat entry where the offset first exceeded the level",
        ),
        Rule(
            "R10",
            "warning",
            "电能表离线或示值冻结",
            "Meter silent or register frozen",
            "电能表超过两个心跳周期无任何记录(仍在持续的离线以同一充电站已上链的最新数据时间为准,"
            "不以全市最新记录为准);后到的补传数据证明未离线时自动关闭;或有结算的充电"
            "前后心跳示值未变(示值冻结,严重)。",
            "No record from the meter for more than 2 × its heartbeat interval (a silence still "
            "going on is judged against the newest data its station's feed has in the log, not "
            "the city's newest record, nor the wall clock; closed automatically when back-filled "
            "data shows the meter was not silent); or the heartbeat register did not move "
            "across a billed session (register frozen: high).",
            "last entry before the silence; or heartbeat, session, heartbeat",
        ),
        Rule(
            "R11",
            "critical",
            "电子铅封开启",
            "Electronic seal opened",
            "电能表电子铅封开启(或被破坏),且之后没有检定员的检定记录确认重新施封。",
            "The meter's electronic seal was opened (or tampered with) and no verification by "
            "an authorised inspector closed it afterwards.",
            "seal event entry",
        ),
        Rule(
            "R12",
            "high",
            "电能表密钥变更未经检定",
            "Meter key changed without verification",
            "同一电能表登记了新的签名密钥,而两次登记之间没有检定记录。",
            "A meter was re-registered with a new signing key and no verification of that "
            "meter lies between the two registrations.",
            "previous key entry, new key entry",
        ),
        Rule(
            "R13",
            "critical",
            "记录签名验证失败",
            "Record signature does not verify",
            "签名验证失败的记录不会进入本地库:同步中止并产生告警(规则 L1)。",
            "An entry whose signature fails never reaches the store: the sync halts and "
            "raises its own alarm (rule L1). Listed for completeness; not run by this engine.",
            "(sync evidence, see misbehaviour)",
            in_engine=False,
        ),
        Rule(
            "R14",
            "high",
            "计量电量与功率曲线不符(计量误差)",
            "Metered energy disagrees with the power profile",
            "电能表计量电量与其自身上报功率曲线积分之差超出准确度等级允许误差加 10 Wh。",
            "The meter's energy differs from the integral of its own power profile by more "
            "than its accuracy class plus one 10 Wh step: the meter itself mis-measures.",
            "session entry",
        ),
        Rule(
            "R15",
            "warning",
            "充电时长超过3天",
            "Session longer than 3 days",
            "充电结束时间晚于开始时间 3 天以上(QualiCharge 数据规则:时长 < 3 天)。",
            "The session lasts more than 3 days (QualiCharge's data rule: duration < 3 days): "
            "a stop that was never recorded, or a wrong clock.",
            "session entry",
        ),
        Rule(
            "R16",
            "warning",
            "单次充电电量超过500 kWh",
            "Session energy above 500 kWh",
            "单次充电计量电量超过 500 kWh(QualiCharge 数据规则:< 500 kWh),与任何车辆电池容量不符。",
            "A single session meters more than 500 kWh (QualiCharge's data rule: < 500 kWh), "
            "more than any vehicle's battery holds.",
            "session entry",
        ),
        Rule(
            "R17",
            "high",
            "计量电量与起止示值之差不符",
            "Energy differs from the register difference",
            "充电记录的电量 energy_wh 与其自身结束示值减起始示值(stop_wh − start_wh)相差超过一个"
            "显示分辨力 10 Wh:同一电能表签名的记录自相矛盾。",
            "The session's energy_wh differs from its own stop_wh − start_wh by more than one "
            "10 Wh register step: one meter-signed record contradicts itself.",
            "session entry",
        ),
        Rule(
            "R18",
            "warning",
            "单个充电接口日充电次数超过50次",
            "More than 50 sessions on one connector in a day",
            "同一电能表(充电接口)在一个自然日(北京时间)内的充电记录超过 50 条"
            "(QualiCharge 数据规则:每个充电点每天 ≤ 50 次)。",
            "One meter (connector) reports more than 50 sessions in one local (UTC+8) day "
            "(QualiCharge's data rule: ≤ 50 sessions per point per day).",
            "the 51st session entry of the day",
        ),
        Rule(
            "R19",
            "warning",
            "充电桩额定功率不合理",
            "Implausible rated power",
            "登记的额定功率不在 1.3 kW – 4,000 kW 之间(QualiCharge 数据规则),多为单位错误;"
            "超功率规则 R05 改用铭牌电压 × 电流或单位纠正后的功率判定,不因错误登记而失效。",
            "The registered rated power is outside 1.3 kW – 4,000 kW (QualiCharge's data "
            "rule), usually a unit slip; R05 then judges by voltage × current or the "
            "unit-corrected power instead, so a bad rating cannot switch it off.",
            "pile entry",
        ),
        Rule(
            "R20",
            "warning",
            "结算记录无对应充电记录",
            "Bill without a session",
            "结算记录所指的充电订单号在日志中没有任何电能表签名的充电记录(该充电记录后到时自动关闭)。",
            "A bill names a session ID that no meter-signed session in the log carries "
            "(closed automatically if the session arrives later).",
            "billing entry",
        ),
        Rule(
            "R21",
            "warning",
            "充电记录未结算",
            "Session never billed",
            "电能表自身数据已超过充电结束时间 1 天,仍无该充电的结算记录(结算后到时自动关闭)。",
            "The meter's own data runs more than a day past the session's stop and no bill "
            "names it (closed automatically when the bill arrives).",
            "session entry",
        ),
        Rule(
            "R22",
            "high",
            "同一充电记录重复结算(重复收费)",
            "Two bills for one session (double billing)",
            "同一充电订单号有两条以上不同的结算记录。",
            "Two or more different bills name the same session ID.",
            "first billing entry, further billing entry",
        ),
        Rule(
            "R23",
            "high",
            "结算运营商与充电桩登记运营商不符",
            "Bill from an operator who does not own the pile",
            "结算记录的运营商不是该充电桩登记的运营商。",
            "The bill is issued by an operator other than the pile's registered operator.",
            "billing entry, pile entry",
        ),
        Rule(
            "R24",
            "high",
            "同一订单号重复上报且数据不同",
            "Session ID re-sent with other values",
            "同一充电订单号出现两条充电记录,电能表、时间或电量不同。",
            "The same session ID appears in two session records whose meter, times, "
            "registers or energy differ.",
            "first session entry, later session entry",
        ),
        Rule(
            "R25",
            "warning",
            "充电记录所填充电桩与电能表登记不符",
            "Session names another pile than its meter's",
            "充电记录填写的充电桩不是其电能表登记所在的充电桩;该记录仍按电能表登记的充电桩参与各项规则。",
            "The session names a pile other than its meter's registered pile; the record "
            "still counts on the meter's registered pile for every other rule.",
            "session entry",
        ),
        Rule(
            "R26",
            "warning",
            "心跳序号或示值倒退",
            "Heartbeat counter or register went backwards",
            "按时间顺序,心跳的序号小于前一条心跳(预警),或心跳示值小于前一条心跳(严重)。",
            "In time order, a heartbeat's sequence number is below the previous heartbeat's "
            "(warning) or its register is below the previous one's (high).",
            "previous heartbeat entry, heartbeat entry",
        ),
        Rule(
            "R27",
            "high",
            "心跳中断而充电继续(数据被截留)",
            "Heartbeats withheld while sessions continue",
            "电能表 2 天以上没有心跳,而其间仍有该电能表的充电记录:状态数据被截留。",
            "A meter sends no heartbeat for more than 2 days while its sessions go on: its "
            "status data is being withheld.",
            "last heartbeat entry before the gap",
        ),
    )
)
ENGINE_RULE_IDS = frozenset(r for r in CATALOGUE if r.startswith("R"))
"""The charging rules this engine derives. Other kinds register theirs in the same
catalogue (fuel: F01…); a full rescan of this engine must not close their findings."""


# ---- loading -------------------------------------------------------------------------

Cols = dict[str, np.ndarray]


def _columns(rows: Sequence[Sequence[Any]], names: Sequence[str], ints: Iterable[str]) -> Cols:
    """Rows → one numpy array per column (int64 where listed, object otherwise)."""
    int_names = set(ints)
    if not rows:
        return {n: np.zeros(0, np.int64 if n in int_names else object) for n in names}
    transposed = list(zip(*rows))
    out: Cols = {}
    for name, values in zip(names, transposed):
        if name in int_names:
            try:
                out[name] = np.array(values, np.int64)
            except TypeError:  # NULLs (an aggregate over no rows)
                out[name] = np.array([0 if v is None else v for v in values], np.int64)
        else:
            arr = np.empty(len(values), object)
            arr[:] = values
            out[name] = arr
    return out


def _concat(parts: list[Cols], names: Sequence[str], ints: Iterable[str]) -> Cols:
    parts = [p for p in parts if len(next(iter(p.values())))]
    if not parts:
        return _columns([], names, ints)
    return {n: np.concatenate([p[n] for p in parts]) for n in names}


def _chunks(values: Sequence[str], size: int = _IN_CHUNK) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def _windowed(
    conn: Connection,
    table: str,
    cols: Sequence[str],
    tcol: str,
    meter_ids: Sequence[str],
    since: int | None,
    until: int | None,
    ints: Iterable[str],
) -> Cols:
    """Rows of ``table`` for the meters with ``since <= tcol < until``, plus context.

    With ``since``, each meter's last rows before it (all those at its last time) come
    along with ``ctx = 1``: they feed "previous row" comparisons but yield no finding.
    Both parts are driven by the (meter_id, time) indexes: one correlated
    ``ORDER BY … LIMIT 1`` probe per meter.
    Sessions too, whatever pile they name (R25).
    """
    sel = ", ".join(f"t.{c}" for c in cols)
    names = [*cols, "ctx"]
    ints = [*ints, "ctx"]
    sql = f"SELECT {sel}, 0 AS ctx FROM {table} t WHERE {_window_sql('t', tcol, since, until)}"
    if since is not None:
        # Every row at the meter's last time before the window, not just one: a duplicate
        # (R08) must meet its original, and the register chain the same "previous" as the
        # rescan's, whichever of the tied rows arrived last.
        sql += (
            f" UNION ALL SELECT {sel}, 1 AS ctx FROM {table} t JOIN ("
            f"SELECT m.meter_id AS mid, (SELECT x.{tcol} FROM {table} x "
            f"WHERE x.meter_id = m.meter_id AND x.{tcol} < :since "
            f"ORDER BY x.{tcol} DESC LIMIT 1) AS last_t "
            f"FROM meters m WHERE m.meter_id IN :ids) c "
            f"ON t.meter_id = c.mid AND t.{tcol} = c.last_t"
        )
    params: dict[str, Any] = {}
    if since is not None:
        params["since"] = since
    if until is not None:
        params["until"] = until
    return _query(conn, sql, params, meter_ids, names, ints)


def _query(
    conn: Connection,
    sql: str,
    params: Mapping[str, Any],
    meter_ids: Sequence[str],
    names: Sequence[str],
    ints: Iterable[str],
) -> Cols:
    """Runs ``sql`` (with an ``:ids`` list) per chunk of meters; columns as numpy arrays.

    Probes and windows order by (time, entry_index): equal times are broken by log order,
    as the rescan's numpy sorts break them (SQLite's indexes end in the rowid, the entry
    index, so its probes stay index walks).
    """
    ints = list(ints)
    stmt = text(sql).bindparams(bindparam("ids", expanding=True))
    parts = [
        _columns(conn.execute(stmt, {**params, "ids": chunk}).all(), names, ints)
        for chunk in _chunks(list(meter_ids))
    ]
    return _concat(parts, names, ints)


@dataclass
class _Registry:
    """The small tables every chunk needs, loaded once per scan."""

    meter_pile: dict[str, str]
    meter_class_pm: dict[str, int]
    meter_hb_ms: dict[str, int]
    meter_at: dict[str, tuple[int, int]]
    pile_rated_w: dict[str, int]
    """The rating R05 judges by: the registered one, or a plausible stand-in (R19)."""
    pile_reg: dict[str, tuple[int, str, int, str, int]]
    """pile_id → (entry index, operator, registered rated power W, station, at_ms)."""
    implausible: dict[str, dict[str, Any]]
    """pile_id → R19 detail, for piles whose registered rating is implausible."""
    tariff_code: dict[str, int]
    tariff_key: np.ndarray
    """Sorted (tariff code << 42 | valid_from_ms)."""
    tariff_row: np.ndarray
    tariff_entry: np.ndarray
    energy_e4: np.ndarray
    """[tariff row, minute of day] → price in 0.0001 yuan/kWh (-1: not covered)."""
    service_e4: np.ndarray
    verif_pile_closed_max: dict[str, int]
    verif_meter_entries: dict[str, np.ndarray]
    meter_of_code: dict[int, str]
    """facts.code(meter_id) → meter_id of every registered meter (the facts' keys)."""
    pile_of_code: dict[int, str]
    meter_pile_no: dict[str, int]
    """meter_id → facts.code of its registry pile (the facts' pile key)."""
    tariff_of_hash: dict[int, int]
    """facts.code(tariff_id) → the dense tariff code of ``tariff_key``."""
    tariff_hourly: np.ndarray
    """Per tariff row: prices constant within every clock hour (hour weights price it)."""

    @classmethod
    def load(cls, conn: Connection) -> _Registry:
        meters = conn.execute(
            text(
                "SELECT meter_id, pile_id, accuracy_class, heartbeat_s, at_ms, entry_index "
                "FROM meters"
            )
        ).all()
        piles = conn.execute(
            text(
                "SELECT pile_id, rated_power_w, rated_voltage_v, max_current_a, entry_index, "
                "operator_id, station_id, at_ms FROM piles"
            )
        ).all()
        tariffs = conn.execute(
            st.tariffs.select().order_by(
                st.tariffs.c.tariff_id, st.tariffs.c.valid_from_ms, st.tariffs.c.entry_index
            )
        ).all()
        verifs = conn.execute(
            text("SELECT pile_id, meter_id, at_ms, seal_closed, entry_index FROM verifications")
        ).all()
        codes: dict[str, int] = {}
        keys, entries = [], []
        energy = np.full((max(len(tariffs), 1), 1440), -1, np.int64)
        service = np.full_like(energy, -1)
        for row_no, t in enumerate(tariffs):  # per tariff, not per session: a few thousand
            code = codes.setdefault(t.tariff_id, len(codes))
            keys.append((code << 42) | t.valid_from_ms)
            entries.append(t.entry_index)
            periods = t.periods if not isinstance(t.periods, str) else json.loads(t.periods)
            for p in periods:
                energy[row_no, p["start_min"] : p["end_min"]] = p["energy_e4"]
                service[row_no, p["start_min"] : p["end_min"]] = p["service_e4"]
        closed_max: dict[str, int] = {}
        by_meter: dict[str, list[int]] = {}
        for v in verifs:
            by_meter.setdefault(v.meter_id, []).append(v.entry_index)
            if v.seal_closed:
                closed_max[v.pile_id] = max(closed_max.get(v.pile_id, v.at_ms), v.at_ms)
        return cls(
            meter_pile={m.meter_id: m.pile_id for m in meters},
            meter_class_pm={
                m.meter_id: CLASS_PERMILLE.get(m.accuracy_class, UNKNOWN_CLASS_PERMILLE)
                for m in meters
            },
            meter_hb_ms={m.meter_id: int(m.heartbeat_s) * 1000 for m in meters},
            meter_at={m.meter_id: (m.entry_index, m.at_ms) for m in meters},
            pile_rated_w={p.pile_id: effective_rating(p)[0] for p in piles},
            pile_reg={
                p.pile_id: (
                    int(p.entry_index),
                    p.operator_id,
                    int(p.rated_power_w),
                    p.station_id,
                    int(p.at_ms),
                )
                for p in piles
            },
            implausible={
                p.pile_id: {
                    "rated_power_w": int(p.rated_power_w),
                    "judged_at_w": effective_rating(p)[0],
                    "basis": effective_rating(p)[1],
                }
                for p in piles
                if not RATED_MIN_W <= int(p.rated_power_w) <= RATED_MAX_W
            },
            tariff_code=codes,
            tariff_key=np.array(keys, np.int64),
            tariff_row=np.arange(len(keys)),
            tariff_entry=np.array(entries, np.int64),
            energy_e4=energy,
            service_e4=service,
            verif_pile_closed_max=closed_max,
            verif_meter_entries={k: np.sort(np.array(v, np.int64)) for k, v in by_meter.items()},
            meter_of_code={facts.code(m.meter_id): m.meter_id for m in meters},
            pile_of_code={facts.code(p.pile_id): p.pile_id for p in piles},
            meter_pile_no={m.meter_id: facts.registry_code(m.pile_id) for m in meters},
            tariff_of_hash={facts.code(t): c for t, c in codes.items()},
            tariff_hourly=np.array(
                [
                    bool(
                        (r.reshape(24, 60) == r[::60, None]).all()
                        and (v.reshape(24, 60) == v[::60, None]).all()
                    )
                    for r, v in zip(energy, service, strict=True)
                ],
                bool,
            ),
        )


def effective_rating(pile: Any) -> tuple[int, str]:
    """(rated power R05 judges a pile by, why) — the registered rating when plausible.

    A rating outside QualiCharge's 1.3 kW – 4,000 kW (R19) is a registry error, most often
    a unit slip (kW entered as W, or W as kW): it must not switch the over-power rule off
    (a 120 kW pile registered at 120 MW would pass anything). In order: the rating scaled
    by 1000 into the plausible range (the slip undone); the nameplate's voltage × marked
    current when that is plausible; else the top of the range (lenient: no false R05).
    """
    rated = int(pile.rated_power_w)
    if RATED_MIN_W <= rated <= RATED_MAX_W:
        return rated, "registered"
    for scaled in (rated // 1000, rated * 1000):
        if RATED_MIN_W <= scaled <= RATED_MAX_W:
            return scaled, "unit slip x1000"
    volts, amps = pile.rated_voltage_v, pile.max_current_a
    if volts and amps and RATED_MIN_W <= int(volts) * int(amps) <= RATED_MAX_W:
        return int(volts) * int(amps), "voltage x current"
    return RATED_MAX_W, "range bound"


def _lookup(mapping: Mapping[str, Any], keys: np.ndarray, default: Any) -> np.ndarray:
    """Vector of ``mapping[key]`` (one dict probe per distinct key, not per row)."""
    if not len(keys):
        return np.zeros(0, np.int64 if isinstance(default, int) else object)
    uniq, inverse = np.unique(keys.astype(str), return_inverse=True)
    values = [mapping.get(k, default) for k in uniq.tolist()]
    arr = np.array(values, np.int64 if isinstance(default, int) else object)
    return arr[inverse]


def _codes(values: np.ndarray) -> np.ndarray:
    if not len(values):
        return np.zeros(0, np.int64)
    return np.unique(values.astype(str), return_inverse=True)[1].astype(np.int64)


# ---- the scan of one chunk -----------------------------------------------------------


@dataclass
class _Out:
    findings: list[Finding] = field(default_factory=list)

    def add(
        self,
        rule_id: str,
        pile_id: Any,
        meter_id: Any,
        at_ms: Any,
        evidence: Iterable[Any],
        detail: Mapping[str, Any],
        severity: str | None = None,
    ) -> None:
        self.findings.append(
            Finding(
                rule_id,
                None if pile_id is None else str(pile_id),
                None if meter_id is None else str(meter_id),
                int(at_ms),
                severity or CATALOGUE[rule_id].severity,
                tuple(sorted({int(e) for e in evidence})),
                detail,
            )
        )


_SESSION_COLS = (
    "entry_index",
    "session_id",
    "meter_id",
    "pile_id",
    "start_ms",
    "stop_ms",
    "start_wh",
    "stop_wh",
    "energy_wh",
    "interval_s",
    "power_w",
)
_SESSION_INTS = ("entry_index", "start_ms", "stop_ms", "start_wh", "stop_wh", "energy_wh")


class _Stopwatch:
    """Adds the time since the last lap to ``timings[name]`` (bench breakdowns)."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings, self.last = timings, time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        if self.timings is not None:
            self.timings[name] = self.timings.get(name, 0.0) + now - self.last
        self.last = now


def _scan_chunk(
    conn: Connection,
    reg: _Registry,
    meter_ids: Sequence[str],
    since: int | None,
    until: int | None,
    timings: dict[str, float] | None = None,
    *,
    stops_in_window: bool = False,
) -> list[Finding]:
    """Every windowed rule over ``meter_ids`` × [since, until); see the module doc.

    ``stops_in_window``: a context session's stop at or after ``since`` is a sign of
    life inside this window (R10), not context — for month windows, whose earlier window
    does not report the silences ending after its ``until`` (``partition_rescan``).

    Sessions and seal events come to Python as columns. Heartbeats, 10× more numerous,
    never do in bulk: the database filters them (clock offsets beyond 5 s, gaps beyond
    2 × heartbeat_s via ``LEAD``, the heartbeats around each billed session) and only
    the candidates come back.
    """
    clock = _Stopwatch(timings)
    out = _Out()
    s = _windowed(
        conn,
        "sessions",
        _SESSION_COLS,
        "start_ms",
        meter_ids,
        since,
        until,
        (*_SESSION_INTS, "interval_s"),
    )
    _home_piles(s, reg)
    s = _sort(s, ("entry_index", "start_ms"), "meter_id")
    if stops_in_window and since is not None:
        s["stop_ctx"] = s["ctx"] * (s["stop_ms"] < since)
    copy = _session_rules(s, reg, out, per_day=since is None)
    if since is not None:
        _busy_days(conn, reg, meter_ids, since, until, out)
    _first_session_register(conn, s, copy, out)
    _billing_rules(conn, s, reg, meter_ids, since, until, out)
    _frozen_rule(conn, reg.meter_pile, meter_ids, since, until, out)
    clock.lap("sessions")
    seals = _windowed(
        conn,
        "seal_events",
        ("entry_index", "meter_id", "pile_id", "event", "at_ms"),
        "at_ms",
        meter_ids,
        since,
        until,
        ("entry_index", "at_ms"),
    )
    _seal_rule(seals, reg, out)
    clock.lap("seals")
    bad_clock, gaps, back = _heartbeat_pass(conn, meter_ids, since, until)
    _clock_rule(bad_clock, reg, out)
    _backwards_rule(back, reg, out)
    _silence_rule(s, seals, reg, gaps, out)
    _withheld_rule(s, reg, gaps, out)
    clock.lap("heartbeats")
    return out.findings


def _home_piles(s: Cols, reg: _Registry) -> None:
    """A registered meter's sessions count on its registry pile whatever pile they name
    (R05 judges that pile's rating, findings name it); ``other_pile`` marks the records
    naming another one (R25), ``named_pile`` keeps the name."""
    named = s["pile_id"]
    home = np.array(
        [reg.meter_pile.get(m, p) for m, p in zip(s["meter_id"].tolist(), named.tolist())],
        object,
    )
    s["named_pile"] = named
    s["other_pile"] = home != named if len(named) else np.zeros(0, bool)
    s["pile_id"] = home


def _window_sql(alias: str, tcol: str, since: int | None, until: int | None) -> str:
    conds = [f"{alias}.meter_id IN :ids"]
    if since is not None:
        conds.append(f"{alias}.{tcol} >= :since")
    if until is not None:
        conds.append(f"{alias}.{tcol} < :until")
    return " AND ".join(conds)


def _window_params(since: int | None, until: int | None) -> dict[str, Any]:
    return {k: v for k, v in (("since", since), ("until", until)) if v is not None}


def _sort(cols: Cols, minor: Sequence[str], major: str) -> Cols:
    """Rows ordered by (major, *reversed(minor)); adds the integer ``code`` of ``major``."""
    code = _codes(cols[major])
    order = np.lexsort((*(cols[m] for m in minor), code))
    result = {k: v[order] for k, v in cols.items()}
    result["code"] = code[order]
    return result


def _session_rules(s: Cols, reg: _Registry, out: _Out, per_day: bool = True) -> np.ndarray:
    """R03–R08 over sessions sorted by (meter, start, entry); returns the duplicate mask."""
    n = len(s["entry_index"])
    if n == 0:
        return np.zeros(0, bool)
    code, start, stop = s["code"], s["start_ms"], s["stop_ms"]
    energy, entry, focus = s["energy_wh"], s["entry_index"], s["ctx"] == 0
    # R08 duplicates: equal (meter, start, stop, energy); the first entry is the original.
    d = np.lexsort((entry, energy, stop, start, code))
    same = np.zeros(n, bool)
    same[1:] = (
        (code[d][1:] == code[d][:-1])
        & (start[d][1:] == start[d][:-1])
        & (stop[d][1:] == stop[d][:-1])
        & (energy[d][1:] == energy[d][:-1])
    )
    first = np.maximum.accumulate(np.where(same, 0, np.arange(n)))
    copy = np.zeros(n, bool)
    copy[d[same]] = True
    original = np.empty(n, np.int64)
    original[d] = d[first]
    for i in np.flatnonzero(copy & focus):
        o = original[i]
        out.add(
            "R08",
            s["pile_id"][i],
            s["meter_id"][i],
            start[i],
            (entry[o], entry[i]),
            {
                "session_id": s["session_id"][i],
                "original_session_id": s["session_id"][o],
                "energy_wh": int(energy[i]),
            },
        )
    # The register chain: distinct sessions in time order per meter.
    c = np.flatnonzero(~copy)
    if len(c) > 1:
        prev, cur = c[:-1], c[1:]
        same_meter = code[cur] == code[prev]
        base = same_meter & focus[cur]
        jump = s["start_wh"][cur] - s["stop_wh"][prev]
        for k in np.flatnonzero(base & (jump < 0)):
            p, i = prev[k], cur[k]
            out.add(
                "R03",
                s["pile_id"][i],
                s["meter_id"][i],
                start[i],
                (entry[p], entry[i]),
                {
                    "session_id": s["session_id"][i],
                    "previous_session_id": s["session_id"][p],
                    "previous_stop_wh": int(s["stop_wh"][p]),
                    "start_wh": int(s["start_wh"][i]),
                    "jump_wh": int(jump[k]),
                },
            )
        for k in np.flatnonzero(base & (jump > RESOLUTION_WH)):
            p, i = prev[k], cur[k]
            out.add(
                "R04",
                s["pile_id"][i],
                s["meter_id"][i],
                start[i],
                (entry[p], entry[i]),
                {
                    "session_id": s["session_id"][i],
                    "previous_session_id": s["session_id"][p],
                    "previous_stop_wh": int(s["stop_wh"][p]),
                    "start_wh": int(s["start_wh"][i]),
                    "unaccounted_wh": int(jump[k]),
                },
                "high" if jump[k] > REGISTER_GAP_ALARM_WH else None,
            )
        # R07: start before the latest stop of any earlier session on the meter.
        key = _group_key(code[c], stop[c])
        running = np.maximum.accumulate(key)
        setter = np.maximum.accumulate(np.where(key == running, np.arange(len(c)), 0))
        holder = c[setter[:-1]]  # for cur = c[1:]: the earlier session with the latest stop
        overlap = (code[holder] == code[cur]) & (start[cur] < stop[holder]) & focus[cur]
        for k in np.flatnonzero(overlap):
            h, i = holder[k], cur[k]
            out.add(
                "R07",
                s["pile_id"][i],
                s["meter_id"][i],
                start[i],
                (entry[h], entry[i]),
                {
                    "session_id": s["session_id"][i],
                    "overlapped_session_id": s["session_id"][h],
                    "overlap_ms": int(min(stop[h], stop[i]) - start[i]),
                },
            )
    # R05 / R06: physically impossible energy.
    duration = stop - start
    rated = s["rated_w"] if "rated_w" in s else _lookup(reg.pile_rated_w, s["pile_id"], -1)
    over = focus & (duration > 0) & (rated > 0) & _over_power(energy, rated, duration)
    for i in np.flatnonzero(over):
        out.add(
            "R05",
            s["pile_id"][i],
            s["meter_id"][i],
            start[i],
            (entry[i],),
            {
                "session_id": s["session_id"][i],
                "energy_wh": int(energy[i]),
                "rated_power_w": int(rated[i]),
                "duration_ms": int(duration[i]),
                "max_wh": int(
                    rated[i] * duration[i] * OVER_POWER_NUM // (OVER_POWER_DEN * 3_600_000)
                ),
            },
        )
    for i in np.flatnonzero(focus & (duration <= 0) & (energy > 0)):
        out.add(
            "R06",
            s["pile_id"][i],
            s["meter_id"][i],
            start[i],
            (entry[i],),
            {
                "session_id": s["session_id"][i],
                "energy_wh": int(energy[i]),
                "duration_ms": int(duration[i]),
            },
        )
    _plausibility_rules(s, copy, out, per_day)
    return copy


def _plausibility_rules(s: Cols, copy: np.ndarray, out: _Out, per_day: bool = True) -> None:
    """R15–R18 and R25 over sessions sorted by (meter, start, entry): each judges one
    record (R18 one meter-day) by itself, so every path and arrival order agrees.
    ``per_day``: the rows hold whole local days (R18); a time window does not, and leaves
    R18 to :func:`_busy_days`."""
    start, stop, energy = s["start_ms"], s["stop_ms"], s["energy_wh"]
    entry, focus = s["entry_index"], s["ctx"] == 0

    def add(rule_id: str, rows: np.ndarray, detail: Callable[[int], dict[str, Any]]) -> None:
        for i in rows:
            out.add(
                rule_id,
                s["pile_id"][i],
                s["meter_id"][i],
                start[i],
                (entry[i],),
                {"session_id": s["session_id"][i], **detail(int(i))},
            )

    duration = stop.astype(object) - start if _magnitude(stop) > 2**61 else stop - start
    add(
        "R15",
        np.flatnonzero(focus & np.asarray(duration > MAX_SESSION_MS, bool)),
        lambda i: {"duration_ms": int(duration[i]), "limit_ms": MAX_SESSION_MS},
    )
    add(
        "R16",
        np.flatnonzero(focus & (energy > MAX_SESSION_WH)),
        lambda i: {"energy_wh": int(energy[i]), "limit_wh": MAX_SESSION_WH},
    )
    big = max(_magnitude(s["stop_wh"]), _magnitude(s["start_wh"]), _magnitude(energy)) > 2**61
    delta = s["stop_wh"].astype(object) - s["start_wh"] if big else s["stop_wh"] - s["start_wh"]
    mismatch = np.abs(delta - energy) > RESOLUTION_WH if len(delta) else np.zeros(0, bool)
    add(
        "R17",
        np.flatnonzero(focus & np.asarray(mismatch, bool)),
        lambda i: {
            "energy_wh": int(energy[i]),
            "start_wh": int(s["start_wh"][i]),
            "stop_wh": int(s["stop_wh"][i]),
            "register_delta_wh": int(delta[i]),
        },
    )
    if "other_pile" in s:
        add(
            "R25",
            np.flatnonzero(focus & s["other_pile"]),
            lambda i: {"named_pile_id": s["named_pile"][i], "registry_pile_id": s["pile_id"][i]},
        )
    # R18: distinct sessions per meter per local day; the 51st (by start, entry) reports.
    c = np.flatnonzero(~copy & focus)
    if per_day and len(c) > MAX_SESSIONS_PER_DAY:
        day = (start[c] + CST_OFFSET_MS) // DAY_MS
        key = _group_key(s["code"][c], day)
        new_group = np.r_[True, key[1:] != key[:-1]]
        group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(c)), 0))
        rank = np.arange(len(c)) - group_start
        sizes = np.bincount(np.cumsum(new_group) - 1)
        size_of = sizes[np.cumsum(new_group) - 1]
        add(
            "R18",
            c[rank == MAX_SESSIONS_PER_DAY],
            lambda i: {
                "local_day": _local_date(int(start[i])),
                "sessions": int(size_of[np.searchsorted(c, i)]),
                "limit": MAX_SESSIONS_PER_DAY,
            },
        )


def _busy_days(
    conn: Connection,
    reg: _Registry,
    meter_ids: Sequence[str],
    since: int,
    until: int | None,
    out: _Out,
) -> None:
    """R18 on the sync path: the local days from ``since``'s on holding more than 50
    sessions of a meter (a count per (meter, day) on the (meter, start) index), each such
    meter-day then judged whole by the same code as the rescan's."""
    day0 = (since + CST_OFFSET_MS) // DAY_MS * DAY_MS - CST_OFFSET_MS
    cond = "" if until is None else " AND start_ms < :until"
    stmt = text(
        "SELECT meter_id, (start_ms + :cst) / :day AS d FROM sessions "
        f"WHERE meter_id IN :ids AND start_ms >= :day0{cond} GROUP BY meter_id, d "
        "HAVING COUNT(*) > :limit"
    ).bindparams(bindparam("ids", expanding=True))
    params: dict[str, Any] = {
        "cst": CST_OFFSET_MS,
        "day": DAY_MS,
        "day0": day0,
        "limit": MAX_SESSIONS_PER_DAY,
    }
    if until is not None:
        params["until"] = until
    busy = [
        (meter, int(d))
        for chunk in _chunks(list(meter_ids))
        for meter, d in conn.execute(stmt, {**params, "ids": chunk})
    ]
    for meter, d in busy:
        lo = d * DAY_MS - CST_OFFSET_MS
        ints = (*_SESSION_INTS, "interval_s")
        s = _windowed(conn, "sessions", _SESSION_COLS, "start_ms", [meter], lo, lo + DAY_MS, ints)
        _home_piles(s, reg)
        s = _sort(s, ("entry_index", "start_ms"), "meter_id")
        day_out = _Out()
        _session_rules(s, reg, day_out)
        out.findings += [f for f in day_out.findings if f.rule_id == "R18"]


def _local_date(t_ms: int) -> str:
    """The UTC+8 calendar date of a time, as the regulator reads it."""
    days = (t_ms + CST_OFFSET_MS) // DAY_MS
    return str(np.datetime64(days, "D"))


def _group_key(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    """One integer per row ordering rows by (group, value), for running maxima and
    searches per group: int64 when it fits, Python ints for absurd value spans (a stop
    time in the year 3000 must not spill into the next meter's keys)."""
    if not len(values):
        return values
    lo, hi = int(values.min()), int(values.max())
    span = hi - lo + 1
    if (int(groups.max()) + 1) * span < 2**62:
        return groups * span + (values - lo)
    return groups.astype(object) * span + (values.astype(object) - lo)


def _over_power(energy: np.ndarray, rated: np.ndarray, duration: np.ndarray) -> np.ndarray:
    e, r, d = _exact(
        (energy, rated, duration),
        _magnitude(energy) * 3_600_000 * OVER_POWER_DEN,
        _magnitude(rated) * _magnitude(duration) * OVER_POWER_NUM,
    )
    return np.asarray(e * 3_600_000 * OVER_POWER_DEN > r * d * OVER_POWER_NUM, bool)


def _first_session_register(
    conn: Connection | None,
    s: Cols,
    copy: np.ndarray,
    out: _Out,
    heartbeats: _HeartbeatIndex | None = None,
) -> None:
    """R03/R04 for a meter's first session in the store, which has no previous session:
    its start register is compared with the last heartbeat's register before it (probed
    in the database, or looked up in ``heartbeats`` when the scan holds them all)."""
    c = np.flatnonzero(~copy)
    if not len(c):
        return
    first = c[np.r_[True, s["code"][c[1:]] != s["code"][c[:-1]]]]
    first = first[s["ctx"][first] == 0]
    if not len(first):
        return
    if heartbeats is not None:
        at = heartbeats.last_at_or_before(s["meter_no"][first], s["start_ms"][first])
        ok = at >= 0
        register = dict(
            zip(
                s["entry_index"][first][ok].tolist(),
                zip(
                    heartbeats.entry[at[ok]].tolist(),
                    heartbeats.register[at[ok]].tolist(),
                    strict=True,
                ),
                strict=True,
            )
        )
    else:
        assert conn is not None
        register = _first_register_sql(conn, s, first)
    _emit_first_register(s, first, register, out)


def _first_register_sql(conn: Connection, s: Cols, first: np.ndarray) -> dict[int, tuple[int, int]]:
    stmt = text(
        "SELECT q.se, h.entry_index, h.register_wh FROM (SELECT s.entry_index AS se, "
        "(SELECT x.entry_index FROM heartbeats x WHERE x.meter_id = s.meter_id "
        "AND x.ref_ms <= s.start_ms ORDER BY x.ref_ms DESC, x.entry_index DESC LIMIT 1) AS he "
        "FROM sessions s WHERE s.entry_index IN :ids) q JOIN heartbeats h "
        "ON h.entry_index = q.he"
    ).bindparams(bindparam("ids", expanding=True))
    if conn.dialect.name == "postgresql":  # see _frozen_rule: no join back by entry index
        stmt = text(
            "SELECT s.entry_index, h.entry_index, h.register_wh FROM sessions s "
            "CROSS JOIN LATERAL (SELECT x.entry_index, x.register_wh FROM heartbeats x "
            "WHERE x.meter_id = s.meter_id AND x.ref_ms <= s.start_ms "
            "ORDER BY x.ref_ms DESC, x.entry_index DESC LIMIT 1) h "
            "WHERE s.entry_index IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
    register: dict[int, tuple[int, int]] = {}
    for chunk in _chunks(s["entry_index"][first].tolist()):
        register.update((se, (he, reg_wh)) for se, he, reg_wh in conn.execute(stmt, {"ids": chunk}))
    return register


def _emit_first_register(
    s: Cols, first: np.ndarray, register: Mapping[int, tuple[int, int]], out: _Out
) -> None:
    for i in first:  # one per meter at most
        found = register.get(int(s["entry_index"][i]))
        if found is None:
            continue
        jump = int(s["start_wh"][i]) - found[1]
        if jump < 0 or jump > RESOLUTION_WH:
            out.add(
                "R03" if jump < 0 else "R04",
                s["pile_id"][i],
                s["meter_id"][i],
                s["start_ms"][i],
                (found[0], s["entry_index"][i]),
                {
                    "session_id": s["session_id"][i],
                    "previous_register_wh": found[1],
                    "start_wh": int(s["start_wh"][i]),
                    "jump_wh" if jump < 0 else "unaccounted_wh": jump,
                    "compared_with": "heartbeat",
                },
            )


def _power(blobs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(samples as int64, offsets[n+1]) of ``power_w`` blobs (little-endian int32 each)."""
    if not len(blobs):
        return np.zeros(0, np.int64), np.zeros(1, np.int64)
    parts = [bytes(b) for b in blobs.tolist()]  # memoryview on PostgreSQL
    lengths = np.fromiter(map(len, parts), np.int64, len(parts)) // 4
    samples = np.frombuffer(b"".join(parts), "<i4").astype(np.int64)
    offsets = np.zeros(len(parts) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return samples, offsets


def _segment_sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per-segment sums, exact (int64, or Python ints for an object array; empty segments
    give 0, unlike reduceat)."""
    cs = np.zeros(len(values) + 1, object if values.dtype == object else np.int64)
    np.cumsum(values, out=cs[1:])
    return cs[offsets[1:]] - cs[offsets[:-1]]


def _weighted_sums(weights: np.ndarray, prices: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per-segment Σ weight·price, exact: in int64 when no sum can overflow it."""
    longest = int(np.diff(offsets).max()) if len(offsets) > 1 else 1
    w, pr = _wide(weights, prices, factor=max(longest, 1))
    return _segment_sums(w * pr, offsets)


def _into(target: np.ndarray, where: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``target[where] = values``, widening ``target`` to Python ints if values need it."""
    if values.dtype == object and target.dtype != object:
        target = target.astype(object)
    target[where] = values
    return target


def _round_half_up(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``ledger.fleet.tariff._round_half_up`` vectorised (exact: object ints if large)."""
    if len(num) and (_magnitude(num) > 2**61 or _magnitude(den) > 2**61):
        num, den = num.astype(object), den.astype(object)
    return (2 * num + den) // (2 * den)


def _magnitude(values: np.ndarray) -> int:
    """max |v|, exactly (no int64 abs overflow, no object copy of an int64 array)."""
    if not len(values):
        return 0
    return max(int(values.max()), -int(values.min()))


def _exact(arrays: tuple[np.ndarray, ...], *bounds: int) -> tuple[np.ndarray, ...]:
    """``arrays`` as Python ints if any of the ``bounds`` (the largest magnitude each term
    of the caller's arithmetic can reach) leaves int64, else as they are."""
    if all(bound < 2**62 for bound in bounds):
        return arrays
    return tuple(values.astype(object) for values in arrays)


def _wide(*arrays: np.ndarray, factor: int = 1) -> tuple[np.ndarray, ...]:
    """The arrays as exact Python ints when a product of their values (times ``factor``)
    could leave int64, else as they are. Signed records may carry absurd numbers (a
    saturated 2.1 GW sample, an interval of decades): a rule must then still compute
    exactly, not wrap around into a false finding. Realistic data stays in numpy."""
    bound = factor
    for values in arrays:
        bound *= max(_magnitude(values), 1)
    if bound < 2**62:
        return arrays
    return tuple(values.astype(object) for values in arrays)


_INT64_MAX = 2**63 - 1


def profile_ws(sums: np.ndarray, interval: np.ndarray) -> np.ndarray:
    """Σ p · interval_s per session in W·s, saturated to int64 (as the facts store it)."""
    sums, interval = _wide(sums, interval)
    product = sums * interval
    if product.dtype == object:
        product = np.clip(product, -_INT64_MAX, _INT64_MAX).astype(np.int64)
    return product


def _billing_rules(
    conn: Connection,
    s: Cols,
    reg: _Registry,
    meter_ids: Sequence[str],
    since: int | None,
    until: int | None,
    out: _Out,
) -> None:
    """R14, R01 and R02 over a window's sessions, power samples read from their blobs."""
    focus_rows = np.flatnonzero(s["ctx"] == 0) if len(s["entry_index"]) else np.zeros(0, int)
    if not len(focus_rows):
        return
    entries = s["entry_index"][focus_rows]
    samples, offsets = _power(s["power_w"][focus_rows])
    interval = s["interval_s"][focus_rows]
    ps = profile_ws(_segment_sums(samples, offsets), interval)
    _profile_rule(s, focus_rows, ps, np.diff(offsets), reg, out)
    # Bills of the window's sessions (joined on session_id; duplicate IDs give one row each).
    sql = (
        "SELECT s.entry_index, b.entry_index, b.tariff_id, b.billed_wh, b.energy_fen, "
        "b.service_fen, b.amount_fen FROM billing b JOIN sessions s "
        f"ON s.session_id = b.session_id WHERE {_window_sql('s', 'start_ms', since, until)}"
    )
    names = ("s_entry", "entry_index", "tariff_id", "billed_wh", "energy_fen", "service_fen")
    names = (*names, "amount_fen")
    ints = ("s_entry", "entry_index", "billed_wh", "energy_fen", "service_fen", "amount_fen")
    b = _query(conn, sql, _window_params(since, until), meter_ids, names, ints)
    # Map each bill to its session's position k in the focus arrays.
    sorter = np.argsort(entries)
    pos = np.clip(np.searchsorted(entries, b["s_entry"], sorter=sorter), 0, len(entries) - 1)
    k_of = sorter[pos]
    known = entries[k_of] == b["s_entry"]
    b = {n: v[known] for n, v in b.items()}
    b["tcode"] = _lookup(reg.tariff_code, b["tariff_id"], -1)
    k_of = k_of[known]
    _bill_rules(s, reg, b, focus_rows[k_of], _SamplePricing(samples, offsets, interval, k_of), out)


def _class_pm(s: Cols, rows: np.ndarray, reg: _Registry) -> np.ndarray:
    """Each row's accuracy class in ‰ (precomputed by the facts loader, else looked up)."""
    if "class_pm" in s:
        return s["class_pm"][rows]
    return _lookup(reg.meter_class_pm, s["meter_id"][rows], UNKNOWN_CLASS_PERMILLE)


def _profile_rule(
    s: Cols, rows: np.ndarray, ps: np.ndarray, nsamp: np.ndarray, reg: _Registry, out: _Out
) -> None:
    """R14: |E - ∫p| > class × ∫p + 10 Wh, in exact integers (× 3600 × 1000); ``ps`` is the
    profile's Σ p·interval in W·s for each session row in ``rows``."""
    class_pm = _class_pm(s, rows, reg)
    energy, wps = _exact(
        (s["energy_wh"][rows], ps),
        (_magnitude(s["energy_wh"][rows]) * 3600 + _magnitude(ps)) * 1000,
        _magnitude(ps) * 1000 + RESOLUTION_WH * 3_600_000,
    )
    dev = np.abs(energy * 3600 - wps) * 1000
    bad = np.asarray((nsamp > 0) & (dev > np.abs(wps) * class_pm + RESOLUTION_WH * 3_600_000), bool)
    for k in np.flatnonzero(bad):
        i = rows[k]
        integral = ps[k] / 3600
        out.add(
            "R14",
            s["pile_id"][i],
            s["meter_id"][i],
            s["start_ms"][i],
            (s["entry_index"][i],),
            {
                "session_id": s["session_id"][i],
                "energy_wh": int(energy[k]),
                "profile_wh": round(float(integral), 1),
                # None for a profile that integrates to zero: the error is unbounded
                # (and JSON has no infinity).
                "error_pct": (
                    round(float((energy[k] - integral) / integral * 100), 3) if integral else None
                ),
                "class_pct": class_pm[k] / 10,
            },
        )


def _bill_rules(
    s: Cols,
    reg: _Registry,
    b: Cols,
    rows: np.ndarray,
    pricing: Any,
    out: _Out,
    paired: Callable[[int], bool] | None = None,
) -> None:
    """R01 and R02 for bills ``b``, bill j paired with session row ``rows[j]``.

    ``b`` holds ``entry_index, tariff_id, tcode`` (dense tariff code, -1 unknown),
    ``billed_wh, energy_fen, service_fen, amount_fen``; ``pricing`` splits each bill's
    energy over the tariff's periods (:class:`_SamplePricing` or :class:`_HourPricing`);
    ``paired(j)``, when given, confirms a pair before it is reported (hash-paired facts).
    """
    if not len(rows):
        return
    e = s["energy_wh"][rows]
    billed = b["billed_wh"]
    cls = _class_pm(s, rows, reg)
    diff = billed - e
    wdiff, we = _exact((diff, e), _magnitude(diff) * 1000, _magnitude(e) * 1000)
    r01 = np.asarray(np.abs(wdiff) * 1000 > we * cls + RESOLUTION_WH * 1000, bool)
    for j in np.flatnonzero(r01):
        if paired is not None and not paired(j):
            continue
        i = rows[j]
        out.add(
            "R01",
            s["pile_id"][i],
            s["meter_id"][i],
            s["start_ms"][i],
            (s["entry_index"][i], b["entry_index"][j]),
            {
                "session_id": s["session_id"][i],
                "energy_wh": int(e[j]),
                "billed_wh": int(billed[j]),
                "difference_wh": int(diff[j]),
                "class_pct": cls[j] / 10,
            },
            "high" if diff[j] > 0 else "warning",
        )
    _tariff_rule(s, reg, b, rows, e, pricing, out, paired)


class _SamplePricing:
    """Per-bill ToU weights from the sessions' power samples (any tariff, exact)."""

    def __init__(
        self, samples: np.ndarray, offsets: np.ndarray, interval: np.ndarray, k_of: np.ndarray
    ) -> None:
        self.samples, self.offsets, self.interval, self.k_of = samples, offsets, interval, k_of

    def __call__(
        self, reg: _Registry, trow: np.ndarray, start: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(Σp, Σp·energy price, Σp·service price, any sample in an unpriced minute)."""
        k_of, offsets = self.k_of, self.offsets
        seg_start, seg_len = offsets[k_of], offsets[k_of + 1] - offsets[k_of]
        total = int(seg_len.sum())
        bill_of = np.repeat(np.arange(len(k_of)), seg_len)
        local_off = np.zeros(len(k_of) + 1, np.int64)
        np.cumsum(seg_len, out=local_off[1:])
        within = np.arange(total) - local_off[:-1][bill_of]
        p = np.maximum(self.samples[seg_start[bill_of] + within], 0)
        local0 = (start + CST_OFFSET_MS) % DAY_MS  # local ms of day at each session's start
        step = (self.interval[k_of] * 1000)[bill_of]
        minute = (local0[bill_of] + within * step) // 60_000 % 1440
        cell = (trow * 1440)[bill_of] + minute  # flat [tariff row, minute] index
        pe = reg.energy_e4.ravel()[cell]
        psv = reg.service_e4.ravel()[cell]
        uncovered = _segment_sums((pe < 0).astype(np.int64), local_off) > 0
        return (
            _segment_sums(p, local_off),
            _weighted_sums(p, pe, local_off),
            _weighted_sums(p, psv, local_off),
            uncovered,
        )


class _HourPricing:
    """Per-bill ToU weights from the sessions' hour weights (facts): exact for tariffs whose
    prices are constant within each clock hour; other bills go to ``fallback``."""

    def __init__(
        self,
        weights: np.ndarray,
        offsets: np.ndarray,
        hour0: np.ndarray,
        binned: np.ndarray,
        k_of: np.ndarray,
        fallback: Any,
    ) -> None:
        self.weights, self.offsets, self.hour0 = weights, offsets, hour0
        self.binned, self.k_of, self.fallback = binned, k_of, fallback

    def __call__(
        self, reg: _Registry, trow: np.ndarray, start: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        k_of, offsets = self.k_of, self.offsets
        n = len(k_of)
        hourly = (
            self.binned[k_of].astype(bool) & reg.tariff_hourly[trow] if n else np.zeros(0, bool)
        )
        w = np.zeros(n, np.int64)
        num_e, num_s = np.zeros(n, np.int64), np.zeros(n, np.int64)
        uncovered = np.zeros(n, bool)
        h = np.flatnonzero(hourly)
        seg_start, seg_len = offsets[k_of[h]], offsets[k_of[h] + 1] - offsets[k_of[h]]
        bill_of = np.repeat(np.arange(len(h)), seg_len)
        local_off = np.zeros(len(h) + 1, np.int64)
        np.cumsum(seg_len, out=local_off[1:])
        within = np.arange(int(seg_len.sum())) - local_off[:-1][bill_of]
        wt = self.weights[seg_start[bill_of] + within]
        sampled = wt >= 0
        hour = (self.hour0[k_of[h]][bill_of] + within) % 24
        cell = (trow[h] * 1440)[bill_of] + hour * 60
        pe = reg.energy_e4.ravel()[cell]
        psv = reg.service_e4.ravel()[cell]
        wt = np.maximum(wt, 0)
        w = _into(w, h, _segment_sums(wt, local_off))
        num_e = _into(num_e, h, _weighted_sums(wt, pe, local_off))
        num_s = _into(num_s, h, _weighted_sums(wt, psv, local_off))
        uncovered[h] = _segment_sums((sampled & (pe < 0)).astype(np.int64), local_off) > 0
        rest = np.flatnonzero(~hourly)
        if len(rest):
            fw, fe, fs, fu = self.fallback(rest, reg, trow[rest], start[rest])
            w, num_e, num_s = _into(w, rest, fw), _into(num_e, rest, fe), _into(num_s, rest, fs)
            uncovered[rest] = fu
        return w, num_e, num_s, uncovered


def _tariff_rule(
    s: Cols,
    reg: _Registry,
    b: Cols,
    rows: np.ndarray,
    energy: np.ndarray,
    pricing: Any,
    out: _Out,
    paired: Callable[[int], bool] | None = None,
) -> None:
    """R02: recompute each bill exactly as ``ledger.fleet.tariff.compute_charge`` does.

    Each power sample is priced at the ToU period containing its start minute (UTC+8);
    the metered energy is split across periods in proportion to the samples' power;
    ``fen = round_half_up(Σ wh_p · e4_p / 100000)``. Allowed: one 0.01-yuan pay step.
    """
    start = s["start_ms"][rows]
    tcode = b["tcode"]
    bkey = tcode * _KEY_SHIFT + start
    trow = np.searchsorted(reg.tariff_key, bkey, side="right") - 1
    has = (tcode >= 0) & (trow >= 0)
    trow = np.where(has, trow, 0)
    if len(reg.tariff_key):
        has &= (reg.tariff_key[trow] >> 42) == tcode
    w, num_e, num_s, uncovered = pricing(reg, trow, start)
    # No samples (or no power): all energy at the start minute's price.
    m0 = ((start + CST_OFFSET_MS) % DAY_MS) // 60_000
    flat = w == 0
    num_e = np.where(flat, reg.energy_e4[trow, m0], num_e)
    num_s = np.where(flat, reg.service_e4[trow, m0], num_s)
    uncovered = uncovered | (flat & (reg.energy_e4[trow, m0] < 0))
    w = np.where(flat, 1, w)
    den = w * 100_000
    we, ne = _wide(energy, num_e)
    exp_e = _round_half_up(we * ne, den)
    we, ns = _wide(energy, num_s)
    exp_s = _round_half_up(we * ns, den)
    expected = exp_e + exp_s
    amount = b["amount_fen"]
    priced = has & ~uncovered
    over = priced & np.asarray(amount > expected + PAY_STEP_FEN, bool)
    for j in np.flatnonzero(over | ~priced):
        if paired is not None and not paired(j):
            continue
        i = rows[j]
        ev = [s["entry_index"][i], b["entry_index"][j]]
        detail: dict[str, Any] = {
            "session_id": s["session_id"][i],
            "tariff_id": b["tariff_id"][j],
            "energy_wh": int(energy[j]),
            "amount_fen": int(amount[j]),
        }
        if priced[j]:
            ev.append(reg.tariff_entry[trow[j]])
            detail |= {
                "expected_fen": int(expected[j]),
                "expected_energy_fen": int(exp_e[j]),
                "expected_service_fen": int(exp_s[j]),
                "energy_fen": int(b["energy_fen"][j]),
                "service_fen": int(b["service_fen"][j]),
                "over_fen": int(amount[j] - expected[j]),
            }
            severity = None
        else:
            detail["reason"] = "no posted tariff covers the session"
            severity = "warning"
        out.add("R02", s["pile_id"][i], s["meter_id"][i], s["start_ms"][i], ev, detail, severity)


_NEVER = np.iinfo(np.int64).max


def _heartbeat_pass(
    conn: Connection,
    meter_ids: Sequence[str],
    since: int | None,
    until: int | None,
) -> tuple[Cols, Cols, Cols]:
    """One window-function pass over the heartbeats; only candidates leave the database.

    Returns (heartbeats beyond 5 s with their predecessor's offset, candidate silences,
    heartbeats whose sequence number or register is below their predecessor's).
    A candidate silence is a pair of consecutive heartbeats more than 2 × heartbeat_s
    apart, or a meter's last heartbeat (open-ended: later sessions may still fill the
    time). ``LAG``/``LEAD`` pair rows inside the window; the pair across ``since`` (the last
    heartbeat before the window, as context) comes from index probes, one set per meter.
    """
    inner = (
        "SELECT h.meter_id, h.ref_ms, h.entry_index, h.meter_ms - h.ref_ms AS off, "
        "LAG(h.meter_ms - h.ref_ms) OVER w AS poff, LEAD(h.ref_ms) OVER w AS nt, "
        "LEAD(h.entry_index) OVER w AS ne, h.seq, h.register_wh AS reg, "
        "LAG(h.seq) OVER w AS pseq, LAG(h.register_wh) OVER w AS preg, "
        "LAG(h.entry_index) OVER w AS pe "
        f"FROM heartbeats h WHERE {_window_sql('h', 'ref_ms', since, until)} "
        "WINDOW w AS (PARTITION BY h.meter_id ORDER BY h.ref_ms, h.entry_index)"
    )
    limit = f"{SILENT_FACTOR} * 1000 * m.heartbeat_s"
    sql = (
        "SELECT g.meter_id, g.ref_ms, g.entry_index, g.off, COALESCE(g.poff, :never), "
        "COALESCE(g.nt, :never), "
        f"COALESCE(g.ne, -1), COALESCE(m.heartbeat_s, 0), g.seq, g.reg, "
        "COALESCE(g.pseq, :never), COALESCE(g.preg, :never), COALESCE(g.pe, -1) "
        f"FROM ({inner}) g LEFT JOIN meters m "
        "ON m.meter_id = g.meter_id WHERE g.off > :warn OR g.off < -:warn OR "
        f"(m.heartbeat_s IS NOT NULL AND (g.nt IS NULL OR g.nt - g.ref_ms > {limit})) "
        "OR g.pseq IS NULL OR g.seq < g.pseq OR g.reg < g.preg"
    )
    names = ("meter_id", "t1", "e1", "off", "poff", "t2", "e2", "hb_s")
    names = (*names, "seq", "reg", "pseq", "preg", "pe")
    ints = ("t1", "e1", "off", "poff", "t2", "e2", "hb_s", "seq", "reg", "pseq", "preg", "pe")
    params = {**_window_params(since, until), "never": int(_NEVER), "warn": CLOCK_WARN_MS}
    rows = _query(conn, sql, params, meter_ids, names, ints)
    boundary: list[tuple[Any, ...]] = []
    context_off: dict[str, int] = {}
    context_counters: dict[str, tuple[int, int, int]] = {}
    if since is not None:
        probe = (
            "(SELECT {c} FROM heartbeats x WHERE x.meter_id = m.meter_id AND {w} "
            "ORDER BY x.ref_ms {d}, x.entry_index {d} LIMIT 1)"
        )
        before = "x.ref_ms < :since"
        after = "x.ref_ms >= :since" + (" AND x.ref_ms < :until" if until is not None else "")
        cols = [
            probe.format(c=c, w=w, d=d)
            for w, d, cs in (
                (
                    before,
                    "DESC",
                    (
                        "x.ref_ms",
                        "x.entry_index",
                        "x.meter_ms - x.ref_ms",
                        "x.seq",
                        "x.register_wh",
                    ),
                ),
                (after, "ASC", ("x.ref_ms", "x.entry_index")),
            )
            for c in cs
        ]
        stmt = text(
            f"SELECT m.meter_id, {', '.join(cols)}, m.heartbeat_s FROM meters m "
            "WHERE m.meter_id IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        for chunk in _chunks(meter_ids):
            for meter, t1, e1, off, cseq, creg, t2, e2, hb_s in conn.execute(
                stmt, {**_window_params(since, until), "ids": chunk}
            ):
                if t1 is None:
                    continue
                context_off[meter] = off
                context_counters[meter] = (int(cseq), int(creg), int(e1))
                if t2 is None:
                    boundary.append((meter, t1, e1, 1, int(_NEVER), -1, hb_s))
                elif t2 - t1 > SILENT_FACTOR * 1000 * hb_s:
                    boundary.append((meter, t1, e1, 1, t2, e2, hb_s))
    # Offsets: a meter's first in-window heartbeat (LAG NULL) follows the context one.
    offset_mask = np.abs(rows["off"]) > CLOCK_WARN_MS
    bad = {k: rows[k][offset_mask] for k in ("meter_id", "t1", "e1", "off")}
    poff = rows["poff"][offset_mask]
    bad["poff"] = np.where(poff == _NEVER, _lookup(context_off, bad["meter_id"], 0), poff)
    gap_mask = (rows["hb_s"] > 0) & (
        (rows["t2"] == _NEVER) | (rows["t2"] - rows["t1"] > SILENT_FACTOR * 1000 * rows["hb_s"])
    )
    gnames = ("meter_id", "t1", "e1", "c1", "t2", "e2", "hb_s")
    gints = ("t1", "e1", "c1", "t2", "e2", "hb_s")
    gaps = {k: rows[k][gap_mask] for k in gnames if k != "c1"}
    gaps["c1"] = np.zeros(int(gap_mask.sum()), np.int64)
    gaps = _concat([gaps, _columns(boundary, gnames, gints)], gnames, gints)
    # Counters: a meter's first in-window heartbeat (LAG NULL) follows the context one.
    first = rows["pseq"] == _NEVER
    for k in np.flatnonzero(first):
        found = context_counters.get(str(rows["meter_id"][k]))
        if found is not None:
            rows["pseq"][k], rows["preg"][k], rows["pe"][k] = found
    back_mask = (rows["pe"] >= 0) & ((rows["seq"] < rows["pseq"]) | (rows["reg"] < rows["preg"]))
    back = {k: rows[k][back_mask] for k in ("meter_id", "t1", "e1", "seq", "reg", "pseq")}
    back |= {k: rows[k][back_mask] for k in ("preg", "pe")}
    return bad, gaps, back


def _clock_rule(bad: Cols, reg: _Registry, out: _Out) -> None:
    """R09: one finding where the offset level rises (ok → >5 s → >3 min), not per heartbeat."""
    if not len(bad["e1"]):
        return

    def level(offset: np.ndarray) -> np.ndarray:
        return (np.abs(offset) > CLOCK_WARN_MS).astype(np.int8) + (np.abs(offset) > CLOCK_HIGH_MS)

    lvl = level(bad["off"])
    rise = lvl > level(bad["poff"])
    piles = _lookup(reg.meter_pile, bad["meter_id"][rise], "")
    for k, i in enumerate(np.flatnonzero(rise)):
        high = lvl[i] == 2
        out.add(
            "R09",
            piles[k] or None,
            bad["meter_id"][i],
            bad["t1"][i],
            (bad["e1"][i],),
            {
                "offset_ms": int(bad["off"][i]),
                "limit_ms": CLOCK_HIGH_MS if high else CLOCK_WARN_MS,
            },
            "high" if high else "warning",
        )


def _silence_rule(s: Cols, seals: Cols, reg: _Registry, g: Cols, out: _Out) -> None:
    """R10 (silent): more than 2 × heartbeat_s without any record from the meter.

    Signs of life are heartbeats, session starts and stops and seal events. Candidate
    heartbeat gaps (:func:`_heartbeat_pass`) are split by the sessions and seal events
    inside them; a remaining stretch longer than the limit is a silence, reported at the
    record before it (its evidence) by the window holding the record after it. A silence
    still going on is :func:`_trailing_silence`'s, with the same evidence, so the two
    never double-report.
    """
    ng = len(g["t1"])
    if not ng:
        return
    ev_t = np.concatenate([s["start_ms"], s["stop_ms"], seals["at_ms"]])
    ev_e = np.concatenate([s["entry_index"], s["entry_index"], seals["entry_index"]])
    ev_c = np.concatenate([s["ctx"], s.get("stop_ctx", s["ctx"]), seals["ctx"]])
    # Meter IDs as integers by first appearance: only equality matters here. Sessions
    # come grouped by meter (``code``), so their IDs are numbered once per meter, not per row.
    number: dict[str, int] = {}

    def numbered(names: np.ndarray) -> np.ndarray:
        values = names.tolist()
        found = (number.setdefault(m, len(number)) for m in values)
        return np.fromiter(found, np.int64, len(values))

    gcode = numbered(g["meter_id"])
    head = np.r_[True, s["code"][1:] != s["code"][:-1]] if len(s["code"]) else np.zeros(0, bool)
    scode = numbered(s["meter_id"][head])[np.cumsum(head) - 1]
    ecode = np.concatenate([scode, scode, numbered(seals["meter_id"])])
    # Which candidate gap (if any) each session/seal event falls in.
    gkey = gcode * _KEY_SHIFT + g["t1"]
    order = np.argsort(gkey, kind="stable")
    pos = np.searchsorted(gkey[order], ecode * _KEY_SHIFT + ev_t, side="right") - 1
    gi = order[np.clip(pos, 0, ng - 1)]
    inside = (pos >= 0) & (gcode[gi] == ecode) & (ev_t <= g["t2"][gi])
    gi = gi[inside]
    finite = g["t2"] != _NEVER
    # One sequence per gap: its start heartbeat, the events inside, its end heartbeat.
    seq_gap = np.concatenate([np.arange(ng), gi, np.flatnonzero(finite)])
    seq_t = np.concatenate([g["t1"], ev_t[inside], g["t2"][finite]])
    seq_e = np.concatenate([g["e1"], ev_e[inside], g["e2"][finite]])
    seq_c = np.concatenate([g["c1"], ev_c[inside], np.zeros(int(finite.sum()), np.int64)])
    o = np.lexsort((seq_e, seq_t, seq_gap))
    seq_gap, seq_t, seq_e, seq_c = seq_gap[o], seq_t[o], seq_e[o], seq_c[o]
    limit = SILENT_FACTOR * 1000 * g["hb_s"][seq_gap]
    span = seq_t[1:] - seq_t[:-1]
    silent = (seq_gap[1:] == seq_gap[:-1]) & (span > limit[:-1]) & (seq_c[1:] == 0)
    for i in np.flatnonzero(silent):
        meter = str(g["meter_id"][seq_gap[i]])
        out.add(
            "R10",
            reg.meter_pile.get(meter),
            meter,
            seq_t[i],
            (seq_e[i],),
            {
                "kind": "silent",
                "silent_from_ms": int(seq_t[i]),
                "silent_until_ms": int(seq_t[i + 1]),
                "silent_ms": int(span[i]),
                "heartbeat_s": int(g["hb_s"][seq_gap[i]]),
            },
        )


def _backwards_rule(back: Cols, reg: _Registry, out: _Out) -> None:
    """R26: in (time, entry) order a heartbeat's register (high) or sequence number
    (warning) is below its predecessor's: a reset meter, a replayed or forged status."""
    for i in range(len(back["e1"])):  # hits only
        register = bool(back["reg"][i] < back["preg"][i])
        meter = str(back["meter_id"][i])
        out.add(
            "R26",
            reg.meter_pile.get(meter),
            meter,
            back["t1"][i],
            (back["pe"][i], back["e1"][i]),
            {
                "kind": "register" if register else "seq",
                "seq": int(back["seq"][i]),
                "previous_seq": int(back["pseq"][i]),
                "register_wh": int(back["reg"][i]),
                "previous_register_wh": int(back["preg"][i]),
            },
            "high" if register else "warning",
        )


def _withheld_rule(s: Cols, reg: _Registry, g: Cols, out: _Out) -> None:
    """R27: a heartbeat gap longer than :data:`WITHHELD_MS` (or a last heartbeat with
    nothing after it) while the meter's sessions go on: a session of the meter starts
    more than :data:`WITHHELD_MS` after the heartbeat and before the next one. Judged on
    the meter's own data only, so late delivery of other meters' records cannot trip it;
    the heartbeat before the gap is the evidence, so a later heartbeat in the gap (a
    back-fill) disproves the same finding (:func:`close_disproved`)."""
    long_gap = (g["t2"] == _NEVER) | (g["t2"] - g["t1"] > WITHHELD_MS)
    if not long_gap.any() or not len(s["start_ms"]):
        return
    gi = np.flatnonzero(long_gap)
    # Sessions come sorted by (meter code, start): keys by code, no string sort per chunk.
    first = np.r_[True, s["code"][1:] != s["code"][:-1]]
    code_of = dict(zip(s["meter_id"][first].tolist(), s["code"][first].tolist(), strict=True))
    gcode = np.array([code_of.get(m, -1) for m in g["meter_id"][gi].tolist()], np.int64)
    top = int(_KEY_SHIFT) - 1
    skey = s["code"] * _KEY_SHIFT + np.clip(s["start_ms"], 0, top)
    lo = np.searchsorted(
        skey, gcode * _KEY_SHIFT + np.clip(g["t1"][gi] + WITHHELD_MS, 0, top), "right"
    )
    hi = np.searchsorted(skey, gcode * _KEY_SHIFT + np.clip(g["t2"][gi], 0, top), "left")
    for k in np.flatnonzero(hi > lo):
        i = gi[k]
        meter = str(g["meter_id"][i])
        out.add(
            "R27",
            reg.meter_pile.get(meter),
            meter,
            g["t1"][i],
            (g["e1"][i],),
            {
                "last_heartbeat_ms": int(g["t1"][i]),
                "next_heartbeat_ms": None if g["t2"][i] == _NEVER else int(g["t2"][i]),
                "limit_ms": WITHHELD_MS,
            },
        )


def _frozen_rule(
    conn: Connection,
    piles: Mapping[str, str],
    meter_ids: Sequence[str],
    since: int | None,
    until: int | None,
    out: _Out,
) -> None:
    """R10 (frozen): the heartbeats just before and just after a billed session show the
    same register. Two index probes per session, in the database; only hits come back."""
    probe = (
        "(SELECT h.entry_index FROM heartbeats h WHERE h.meter_id = s.meter_id AND "
        "h.ref_ms {op} s.{col} ORDER BY h.ref_ms {d}, h.entry_index {d} LIMIT 1)"
    )
    inner = (
        "SELECT s.entry_index AS se, s.session_id, s.meter_id, s.pile_id, s.start_ms, "
        f"s.energy_wh, {probe.format(op='<=', col='start_ms', d='DESC')} AS ha, "
        f"{probe.format(op='>=', col='stop_ms', d='ASC')} AS hz "
        f"FROM sessions s WHERE {_window_sql('s', 'start_ms', since, until)} "
        f"AND s.energy_wh > {RESOLUTION_WH} "
        "AND EXISTS (SELECT 1 FROM billing b WHERE b.session_id = s.session_id)"
    )
    sql = (
        "SELECT q.se, q.session_id, q.meter_id, q.pile_id, q.start_ms, q.energy_wh, "
        f"q.ha, q.hz, a.register_wh FROM ({inner}) q "
        "JOIN heartbeats a ON a.entry_index = q.ha JOIN heartbeats z ON z.entry_index = q.hz "
        "WHERE a.register_wh = z.register_wh"
    )
    if conn.dialect.name == "postgresql":
        # LATERAL probes return the register with the entry: joining the heartbeats back
        # by entry index cost a primary-key probe per session and side (one per month
        # partition on a partitioned store, app.models.partitions: 25x slower measured).
        # SQLite has no LATERAL, and its rowid look-ups are cheap.
        lateral = (
            "CROSS JOIN LATERAL (SELECT h.entry_index, h.register_wh FROM heartbeats h "
            "WHERE h.meter_id = s.meter_id AND h.ref_ms {op} s.{col} "
            "ORDER BY h.ref_ms {d}, h.entry_index {d} LIMIT 1) {alias}"
        )
        sql = (
            "SELECT s.entry_index, s.session_id, s.meter_id, s.pile_id, s.start_ms, "
            "s.energy_wh, a.entry_index, z.entry_index, a.register_wh FROM sessions s "
            f"{lateral.format(op='<=', col='start_ms', d='DESC', alias='a')} "
            f"{lateral.format(op='>=', col='stop_ms', d='ASC', alias='z')} "
            f"WHERE {_window_sql('s', 'start_ms', since, until)} "
            f"AND s.energy_wh > {RESOLUTION_WH} AND a.register_wh = z.register_wh "
            "AND EXISTS (SELECT 1 FROM billing b WHERE b.session_id = s.session_id)"
        )
    names = ("se", "session_id", "meter_id", "pile_id", "start_ms", "energy_wh", "ha", "hz")
    names = (*names, "register_wh")
    ints = ("se", "start_ms", "energy_wh", "ha", "hz", "register_wh")
    f = _query(conn, sql, _window_params(since, until), meter_ids, names, ints)
    f["pile_id"] = np.array(
        [piles.get(m, p) for m, p in zip(f["meter_id"].tolist(), f["pile_id"].tolist())], object
    )
    _emit_frozen(f, out)


def _emit_frozen(f: Cols, out: _Out) -> None:
    for i in range(len(f["se"])):  # hits only
        out.add(
            "R10",
            f["pile_id"][i],
            f["meter_id"][i],
            f["start_ms"][i],
            (f["ha"][i], f["se"][i], f["hz"][i]),
            {
                "kind": "register_frozen",
                "session_id": f["session_id"][i],
                "energy_wh": int(f["energy_wh"][i]),
                "register_wh": int(f["register_wh"][i]),
            },
            "high",
        )


def _seal_rule(seals: Cols, reg: _Registry, out: _Out) -> None:
    """R11: an opened (or tampered) seal with no seal-closing verification of the pile after it."""
    if not len(seals["entry_index"]):
        return
    seals = _sort(seals, ("entry_index", "at_ms"), "meter_id")
    ev, at = seals["event"], seals["at_ms"]
    opened = ((ev == "opened") | (ev == "tamper")) & (seals["ctx"] == 0)
    closed_by = _lookup(reg.verif_pile_closed_max, seals["pile_id"], -1)
    hit = opened & (closed_by < at)
    nxt_closed = np.zeros(len(at), bool)
    nxt_closed[:-1] = (seals["code"][1:] == seals["code"][:-1]) & (ev[1:] == "closed")
    for i in np.flatnonzero(hit):
        out.add(
            "R11",
            seals["pile_id"][i],
            seals["meter_id"][i],
            at[i],
            (seals["entry_index"][i],),
            {
                "event": ev[i],
                "meter_closed_at_ms": int(at[i + 1]) if nxt_closed[i] else None,
                "verified_closed": False,
            },
        )


def _key_rule(conn: Connection, reg: _Registry, meter_ids: Sequence[str]) -> list[Finding]:
    """R12: consecutive meter_keys rows of a meter with no verification of it in between.

    ``meter_keys`` has no time column (schema): a finding is dated by the meter record's
    ``at_ms`` (exact for the latest key, the meter's current record time otherwise).
    """
    out = _Out()
    stmt = text(
        "SELECT entry_index, meter_id, key_id FROM meter_keys WHERE meter_id IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    names, ints = ("entry_index", "meter_id", "key_id"), ("entry_index",)
    k = _concat(
        [_columns(conn.execute(stmt, {"ids": c}).all(), names, ints) for c in _chunks(meter_ids)],
        names,
        ints,
    )
    if len(k["entry_index"]) < 2:
        return []
    k = _sort(k, ("entry_index",), "meter_id")
    same = k["code"][1:] == k["code"][:-1]
    for j in np.flatnonzero(same):
        p, i = j, j + 1
        meter = str(k["meter_id"][i])
        verifs = reg.verif_meter_entries.get(meter, np.zeros(0, np.int64))
        lo, hi = int(k["entry_index"][p]), int(k["entry_index"][i])
        between = np.searchsorted(verifs, hi) - np.searchsorted(verifs, lo, "right")
        if between:
            continue
        entry_at = reg.meter_at.get(meter, (hi, 0))
        out.add(
            "R12",
            reg.meter_pile.get(meter),
            meter,
            entry_at[1],
            (lo, hi),
            {"old_key_id": k["key_id"][p], "new_key_id": k["key_id"][i]},
        )
    return out.findings


def _last_rows(conn: Connection, table: str, key: str, tcol: str) -> dict[str, tuple[int, int]]:
    """{meter: (time, entry)} of each registered meter's row with the largest ``key``:
    one ``ORDER BY key DESC LIMIT 1`` index probe per meter, then a primary-key fetch."""
    same_pile = ""
    sql = (
        f"SELECT t.meter_id, t.{tcol}, t.entry_index FROM {table} t WHERE t.entry_index IN "
        f"(SELECT (SELECT x.entry_index FROM {table} x WHERE {same_pile}"
        f"x.meter_id = m.meter_id ORDER BY x.{key} DESC, x.entry_index DESC LIMIT 1) "
        "FROM meters m)"
    )
    if conn.dialect.name == "postgresql":
        # The row itself from the probe: the fetch by entry index costs a probe per month
        # partition on a partitioned store (app.models.partitions); SQLite has no LATERAL.
        sql = (
            f"SELECT m.meter_id, x.{tcol}, x.entry_index FROM meters m CROSS JOIN LATERAL "
            f"(SELECT y.{tcol}, y.entry_index FROM {table} y WHERE y.meter_id = m.meter_id "
            f"ORDER BY y.{key} DESC, y.entry_index DESC LIMIT 1) x"
        )
    rows = conn.execute(text(sql)).all()
    return {meter: (int(t), int(entry)) for meter, t, entry in rows}


def _station_of(reg: _Registry, meter: str) -> str | None:
    pile = reg.pile_reg.get(reg.meter_pile.get(meter, ""))
    return None if pile is None else pile[3]


def _trailing_silence(conn: Connection, reg: _Registry) -> list[Finding]:
    """R10 for meters silent *now*: last record older than 2 × heartbeat_s before the newest
    data time of the meter's station in the log (the station's gateway posts for all its
    meters: a feed that lags, or a back-fill not yet delivered, silences none of them).
    One indexed probe per meter per table (no table scan)."""
    latest: dict[str, tuple[int, int]] = {}
    for table, key, tcol in (
        ("heartbeats", "ref_ms", "ref_ms"),
        ("sessions", "start_ms", "stop_ms"),
        ("seal_events", "seq", "at_ms"),
    ):
        for meter, value in _last_rows(conn, table, key, tcol).items():
            if meter not in latest or value > latest[meter]:
                latest[meter] = value
    if not latest:
        return []
    city = max(t for t, _ in latest.values())
    feed: dict[str | None, int] = {}
    for meter, (t, _entry) in latest.items():
        station = _station_of(reg, meter)
        feed[station] = max(feed.get(station, t), t)
    out = _Out()
    for meter, (t, entry) in sorted(latest.items()):  # per meter, not per record
        hb_ms = reg.meter_hb_ms.get(meter, 0)
        station = _station_of(reg, meter)
        newest = feed[station] if station is not None else city
        if hb_ms > 0 and newest - t > SILENT_FACTOR * hb_ms:
            out.add(
                "R10",
                reg.meter_pile.get(meter),
                meter,
                t,
                (entry,),
                {
                    "kind": "silent",
                    "silent_from_ms": t,
                    "silent_until_ms": None,
                    "silent_ms": newest - t,
                    "heartbeat_s": hb_ms // 1000,
                },
            )
    return out.findings


# ---- registry, bill and identity rules (R19–R24) -------------------------------------
#
# Each judges a record against the whole store through indexed look-ups (session_id,
# entry index, (meter, time)), never against a time window, so the sync path (the batch's
# records) and the rescan (every record, or the facts' candidates confirmed in SQL) reach
# the same findings whatever order the records arrived in.


def _registry_rule(reg: _Registry) -> list[Finding]:
    """R19: piles whose registered rated power is outside 1.3 kW – 4,000 kW."""
    out = _Out()
    for pile_id, detail in sorted(reg.implausible.items()):
        entry, _operator, _rated, _station, at_ms = reg.pile_reg[pile_id]
        out.add("R19", pile_id, None, at_ms, (entry,), detail)
    return out.findings


def _ids_query(
    conn: Connection, sql: str, ids: Sequence[Any], names: Sequence[str], ints: Iterable[str]
) -> Cols:
    """``sql`` with an expanding ``:ids`` list, chunked; rows as columns."""
    stmt = text(sql).bindparams(bindparam("ids", expanding=True))
    parts = [
        _columns(conn.execute(stmt, {"ids": list(chunk)}).all(), names, ints)
        for chunk in _chunks(list(ids))
    ]
    return _concat(parts, names, ints)


_BILL_COLS = ("entry_index", "session_id", "pile_id", "operator_id", "start_ms")
_BILL_SELECT = "SELECT b.entry_index, b.session_id, b.pile_id, b.operator_id, b.start_ms "


def _orphan_bills(conn: Connection, bill_entries: Sequence[int], out: _Out) -> None:
    """R20 for the given bills: no session record carries their session ID."""
    b = _ids_query(
        conn,
        _BILL_SELECT + "FROM billing b WHERE b.entry_index IN :ids AND NOT EXISTS "
        "(SELECT 1 FROM sessions s WHERE s.session_id = b.session_id)",
        sorted(set(bill_entries)),
        _BILL_COLS,
        ("entry_index", "start_ms"),
    )
    for i in range(len(b["entry_index"])):
        out.add(
            "R20",
            b["pile_id"][i],
            None,
            b["start_ms"][i],
            (b["entry_index"][i],),
            {"session_id": b["session_id"][i], "operator_id": b["operator_id"][i]},
        )


def _double_bills(conn: Connection, session_ids: Sequence[str] | None, out: _Out) -> None:
    """R22: every bill after the first (in log order) naming the same session ID.

    ``session_ids`` None: every session ID billed more than once (one pass over the
    session_id index)."""
    if session_ids is None:
        session_ids = [
            r[0]
            for r in conn.execute(
                text("SELECT session_id FROM billing GROUP BY session_id HAVING COUNT(*) > 1")
            )
        ]
    b = _ids_query(
        conn,
        _BILL_SELECT + "FROM billing b WHERE b.session_id IN :ids",
        sorted(set(session_ids)),
        _BILL_COLS,
        ("entry_index", "start_ms"),
    )
    first: dict[str, int] = {}
    for i in np.argsort(b["entry_index"], kind="stable"):
        sid = b["session_id"][i]
        if sid not in first:
            first[sid] = int(i)
            continue
        f = first[sid]
        out.add(
            "R22",
            b["pile_id"][i],
            None,
            b["start_ms"][i],
            (b["entry_index"][f], b["entry_index"][i]),
            {
                "session_id": sid,
                "first_bill_entry": int(b["entry_index"][f]),
                "operator_id": b["operator_id"][i],
            },
        )


def _foreign_bills(
    conn: Connection, reg: _Registry, entries: tuple[int, int] | None, out: _Out
) -> None:
    """R23: bills whose operator is not the registered operator of the pile they name."""
    where = "" if entries is None else " AND b.entry_index BETWEEN :lo AND :hi"
    params = {} if entries is None else {"lo": entries[0], "hi": entries[1]}
    rows = conn.execute(
        text(
            _BILL_SELECT + ", p.operator_id FROM billing b JOIN piles p ON p.pile_id = b.pile_id "
            "WHERE b.operator_id <> p.operator_id" + where
        ),
        params,
    ).all()
    for entry, sid, pile, operator, start_ms, owner in rows:
        out.add(
            "R23",
            pile,
            None,
            start_ms,
            (entry,),  # the bill alone: a re-sent pile record must not make it another finding
            {
                "session_id": sid,
                "operator_id": operator,
                "pile_operator_id": owner,
                "pile_entry": reg.pile_reg[pile][0],
            },
        )


_IDENTITY = ("meter_id", "pile_id", "start_ms", "stop_ms", "start_wh", "stop_wh", "energy_wh")


def _resent_sessions(
    conn: Connection, reg: _Registry, session_ids: Sequence[str] | None, out: _Out
) -> None:
    """R24: a session record whose ID an earlier record (in log order) carries with other
    meter, pile, times, registers or energy. (The same values under another signature are
    a signature twin: the ledger's concern, not the operator's.)"""
    if session_ids is None:
        session_ids = [
            r[0]
            for r in conn.execute(
                text("SELECT session_id FROM sessions GROUP BY session_id HAVING COUNT(*) > 1")
            )
        ]
    names = ("entry_index", "session_id", *_IDENTITY)
    s = _ids_query(
        conn,
        f"SELECT entry_index, session_id, {', '.join(_IDENTITY)} FROM sessions "
        "WHERE session_id IN :ids",
        sorted(set(session_ids)),
        names,
        ("entry_index", "start_ms", "stop_ms", "start_wh", "stop_wh", "energy_wh"),
    )
    first: dict[str, int] = {}
    for i in np.argsort(s["entry_index"], kind="stable"):
        sid = s["session_id"][i]
        if sid not in first:
            first[sid] = int(i)
            continue
        f = first[sid]
        differs = [c for c in _IDENTITY if s[c][i] != s[c][f]]
        if not differs:
            continue
        meter = str(s["meter_id"][i])
        out.add(
            "R24",
            reg.meter_pile.get(meter, s["pile_id"][i]),
            meter,
            s["start_ms"][i],
            (s["entry_index"][f], s["entry_index"][i]),
            {
                "session_id": sid,
                "first_session_entry": int(s["entry_index"][f]),
                "differs": differs,
            },
        )


def _unbilled(
    conn: Connection,
    reg: _Registry,
    candidates: Sequence[int],
    latest: Mapping[str, int],
    out: _Out,
) -> None:
    """R21 for candidate sessions (by entry): no bill names them and their registered
    meter's own data (session starts, heartbeats) runs past stop + the grace period."""
    s = _ids_query(
        conn,
        "SELECT s.entry_index, s.session_id, s.meter_id, s.start_ms, s.stop_ms FROM sessions s "
        "WHERE s.entry_index IN :ids AND NOT EXISTS "
        "(SELECT 1 FROM billing b WHERE b.session_id = s.session_id)",
        sorted(set(candidates)),
        ("entry_index", "session_id", "meter_id", "start_ms", "stop_ms"),
        ("entry_index", "start_ms", "stop_ms"),
    )
    for i in range(len(s["entry_index"])):
        meter = str(s["meter_id"][i])
        data_until = latest.get(meter)
        if meter not in reg.meter_pile or data_until is None:
            continue
        if data_until - int(s["stop_ms"][i]) <= UNBILLED_GRACE_MS:
            continue
        out.add(
            "R21",
            reg.meter_pile[meter],
            meter,
            s["start_ms"][i],
            (s["entry_index"][i],),
            {"session_id": s["session_id"][i], "meter_data_until_ms": data_until},
        )


def _meter_times(conn: Connection, meter_ids: Sequence[str], before: int | None) -> dict[str, int]:
    """Each registered meter's latest session start or heartbeat time (before ``before``
    when given): two (meter, time) index probes per meter."""
    cond = "" if before is None else " AND x.{t} < :before"
    probe = (
        "(SELECT x.{t} FROM {table} x WHERE x.meter_id = m.meter_id" + cond + " "
        "ORDER BY x.{t} DESC LIMIT 1)"
    )
    stmt = text(
        f"SELECT m.meter_id, {probe.format(t='start_ms', table='sessions')}, "
        f"{probe.format(t='ref_ms', table='heartbeats')} FROM meters m WHERE m.meter_id IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    found: dict[str, int] = {}
    params = {} if before is None else {"before": before}
    for chunk in _chunks(list(meter_ids)):
        for meter, a, b in conn.execute(stmt, {**params, "ids": chunk}):
            times = [int(t) for t in (a, b) if t is not None]
            if times:
                found[meter] = max(times)
    return found


def _unbilled_window(
    conn: Connection, reg: _Registry, meter_ids: Sequence[str], since: int | None, out: _Out
) -> None:
    """R21 on the sync path: the sessions that this batch may have made overdue.

    A session S becomes reportable when its meter's data first passes S.stop + grace.
    Every record of the batch is at or after ``since``, so before the batch the meter's
    data already reached L (its latest record before ``since``): S is new only if
    S.stop > L − grace, so the sessions starting from L − grace − 3 days are enough
    (a longer session is R15's)."""
    registered = [m for m in meter_ids if m in reg.meter_pile]
    if not registered:
        return
    latest = _meter_times(conn, registered, None)
    groups: dict[int | None, list[str]] = {}
    if since is None:
        groups[None] = registered
    else:
        before = _meter_times(conn, registered, since)
        for meter in registered:
            frm = min(before.get(meter, since), since) - UNBILLED_GRACE_MS - MAX_SESSION_MS
            groups.setdefault(frm // DAY_MS * DAY_MS, []).append(meter)
    sql = (
        "SELECT s.entry_index FROM sessions s WHERE s.meter_id IN :ids{w} AND NOT EXISTS "
        "(SELECT 1 FROM billing b WHERE b.session_id = s.session_id)"
    )
    candidates: list[int] = []
    for frm, meters in groups.items():
        stmt = text(sql.format(w="" if frm is None else " AND s.start_ms >= :frm")).bindparams(
            bindparam("ids", expanding=True)
        )
        for chunk in _chunks(meters):
            params: dict[str, Any] = {"ids": chunk}
            if frm is not None:
                params["frm"] = frm
            candidates += [int(r[0]) for r in conn.execute(stmt, params)]
    _unbilled(conn, reg, candidates, latest, out)


# ---- the full rescan over the analysis facts -----------------------------------------

ENTRIES_PER_CHUNK = 2_000_000
"""A full-rescan chunk covers piles holding about this many log entries (a city-year of
~165 M entries gives ~80 chunks of ~120k sessions and ~1.7 M heartbeats each)."""


class _LazyText:
    """A text column read by entry index only for the rows a finding names.

    A rescan handles millions of sessions but reports a few; their IDs are fetched one
    query each instead of every session ID crossing the driver.
    """

    def __init__(
        self,
        conn: Connection,
        table: str,
        column: str,
        entries: np.ndarray,
        cache: dict[int, Any] | None = None,
    ) -> None:
        self.conn, self.table, self.column = conn, table, column
        self.entries = entries
        self.cache = {} if cache is None else cache

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, i: Any) -> Any:
        if np.ndim(i) != 0:
            return _LazyText(self.conn, self.table, self.column, self.entries[i], self.cache)
        entry = int(self.entries[i])
        if entry not in self.cache:
            self.cache[entry] = _fetch_one(self.conn, self.table, self.column, entry)
        return self.cache[entry]


def _unique(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(codes, return_index=True, return_inverse=True)`` (inverse as int64),
    in one linear pass when ``codes`` is already sorted: a chunk's sessions and
    heartbeats come sorted by meter, and a sort per lookup cost ~5 % of a rescan."""
    if len(codes) and not (codes[1:] >= codes[:-1]).all():
        uniq, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
        return uniq, first, inverse.astype(np.int64)
    head = np.empty(len(codes), bool)
    head[:1] = True
    np.not_equal(codes[1:], codes[:-1], out=head[1:])
    first = np.flatnonzero(head)
    return codes[first], first, np.cumsum(head, dtype=np.int64) - 1


def _names(
    codes: np.ndarray, known: Mapping[int, str], unknown: Callable[[int], str | None]
) -> np.ndarray:
    """IDs for hashed codes: the registry's, else ``unknown(row)`` for one row per code."""
    if not len(codes):
        return np.zeros(0, object)
    uniq, first, inverse = _unique(codes)
    values = [known.get(c) for c in uniq.tolist()]
    for k, value in enumerate(values):
        if value is None:
            values[k] = unknown(int(first[k]))
    arr = np.empty(len(values), object)
    arr[:] = values
    return arr[inverse]


def _fetch_one(conn: Connection, table: str, column: str, entry: int) -> Any:
    """One column of one row by entry index, through the driver's cursor (findings only)."""
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"SELECT {column} FROM {table} WHERE entry_index = {marker}", (entry,))
        row = cursor.fetchone()
    finally:
        cursor.close()
    return None if row is None else row[0]


class _HeartbeatIndex:
    """A chunk's heartbeats, each meter's contiguous and in (time, entry) order, searchable
    by (meter code, time). Meters are numbered by run, so the keys are sorted as read."""

    def __init__(self, hb: Cols) -> None:
        self.meter, self.ref = hb["meter_no"], hb["ref_ms"]
        self.entry, self.offset, self.register = (
            hb["entry_index"],
            hb["offset_ms"],
            hb["register_wh"],
        )
        self.seq = hb["seq"]
        n = len(self.ref)
        starts = np.flatnonzero(np.r_[True, self.meter[1:] != self.meter[:-1]]) if n else self.ref
        self.run_meter = self.meter[starts]
        """The meter code of each run (one run per meter)."""
        self.run = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, n]))
        self.run_start = starts
        self.by_code = np.argsort(self.run_meter)
        self.sorted_codes = self.run_meter[self.by_code]
        # Keys order (run, time) as one integer: run × span + time from just below the
        # earliest heartbeat. Query times beyond the heartbeats' range are clamped to one
        # step outside it (same answers); absurd spans fall back to Python integers.
        self.lo = int(self.ref.min()) - 1 if n else 0
        self.hi = int(self.ref.max()) + 1 if n else 0
        self.span = self.hi - self.lo + 1
        self.key = self._key(self.run, self.ref)

    def _key(self, run: np.ndarray, t: np.ndarray) -> np.ndarray:
        if (len(self.run_meter) + 1) * self.span < 2**62:
            return run * self.span + (np.clip(t, self.lo, self.hi) - self.lo)
        clipped = np.clip(t.astype(object), self.lo, self.hi)
        return run.astype(object) * self.span + (clipped - self.lo)

    def __len__(self) -> int:
        return len(self.ref)

    def _find(self, meters: np.ndarray, t: np.ndarray, side: str) -> np.ndarray:
        if not len(self) or not len(t):
            return np.full(len(t), -1)
        pos = np.clip(np.searchsorted(self.sorted_codes, meters), 0, len(self.sorted_codes) - 1)
        known = self.sorted_codes[pos] == meters
        run = self.by_code[pos]
        found = np.searchsorted(self.key, self._key(run, t), side=side)  # type: ignore[call-overload]
        if side == "right":
            found = found - 1
        safe = np.clip(found, 0, len(self) - 1)
        ok = known & (found >= 0) & (found < len(self)) & (self.run[safe] == run)
        return np.where(ok, found, -1)

    def last_at_or_before(self, meters: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Position of each meter's last heartbeat with ref_ms <= t (-1: none)."""
        return self._find(meters, t, "right")

    def first_at_or_after(self, meters: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Position of each meter's first heartbeat with ref_ms >= t (-1: none)."""
        return self._find(meters, t, "left")


def _facts_heartbeat_pass(
    hb: _HeartbeatIndex, run_names: np.ndarray, reg: _Registry
) -> tuple[Cols, Cols, Cols]:
    """:func:`_heartbeat_pass` over a chunk's whole heartbeat history, in numpy;
    ``run_names`` are the meter IDs of ``hb``'s runs."""
    n = len(hb)
    same_prev = np.zeros(n, bool)
    same_prev[1:] = hb.run[1:] == hb.run[:-1]
    # Per-row work only where a rule fires: a chunk holds ~2 M heartbeats, so no
    # full-length "previous"/"next" copies, only masks and the hits' indexes.
    kb = np.flatnonzero(np.abs(hb.offset) > CLOCK_WARN_MS)
    bad = {
        "meter_id": run_names[hb.run[kb]],
        "t1": hb.ref[kb],
        "e1": hb.entry[kb],
        "off": hb.offset[kb],
        "poff": np.where(same_prev[kb], hb.offset[kb - 1], 0),
    }
    run_hb_s = np.fromiter(
        (reg.meter_hb_ms.get(name, 0) // 1000 for name in run_names.tolist()),
        np.int64,
        len(run_names),
    )
    hb_s = run_hb_s[hb.run]
    # A gap follows heartbeat i when its run ends there or the next one comes late.
    late = np.ones(n, bool)
    if n > 1:
        nxt = hb.ref[1:]
        late[:-1] = (
            ~same_prev[1:]
            | (nxt == _NEVER)
            | (nxt - hb.ref[:-1] > SILENT_FACTOR * 1000 * hb_s[:-1])
        )
    g = np.flatnonzero((hb_s > 0) & late)
    follows = np.zeros(len(g), bool)
    inner = g < n - 1
    follows[inner] = same_prev[g[inner] + 1]
    after = np.minimum(g + 1, max(n - 1, 0))
    gaps = {
        "meter_id": run_names[hb.run[g]],
        "t1": hb.ref[g],
        "e1": hb.entry[g],
        "c1": np.zeros(len(g), np.int64),
        "t2": np.where(follows, hb.ref[after], _NEVER),
        "e2": np.where(follows, hb.entry[after], -1),
        "hb_s": hb_s[g],
    }
    # Counters going backwards: compared with the predecessor in place (no full-length
    # "previous" copies: a chunk holds ~2 M heartbeats).
    k = 1 + np.flatnonzero(
        same_prev[1:] & ((hb.seq[1:] < hb.seq[:-1]) | (hb.register[1:] < hb.register[:-1]))
    )
    back = {
        "meter_id": run_names[hb.run[k]],
        "t1": hb.ref[k],
        "e1": hb.entry[k],
        "seq": hb.seq[k],
        "reg": hb.register[k],
        "pseq": hb.seq[k - 1],
        "preg": hb.register[k - 1],
        "pe": hb.entry[k - 1],
    }
    return bad, gaps, back


def _facts_frozen(
    conn: Connection,
    s: Cols,
    billed: np.ndarray,
    hb: _HeartbeatIndex,
    out: _Out,
) -> None:
    """R10 frozen (:func:`_frozen_rule`) with the chunk's heartbeats in memory; ``billed``:
    the sessions a bill of the chunk names by session code."""
    cand = np.flatnonzero((s["energy_wh"] > RESOLUTION_WH) & billed)
    if not len(cand) or not len(hb):
        return
    a = hb.last_at_or_before(s["meter_no"][cand], s["start_ms"][cand])
    z = hb.first_at_or_after(s["meter_no"][cand], s["stop_ms"][cand])
    ok = (a >= 0) & (z >= 0)
    hit = np.zeros(len(cand), bool)
    hit[ok] = hb.register[a[ok]] == hb.register[z[ok]]
    rows, a, z = cand[hit], a[hit], z[hit]
    keep = []
    for k, i in enumerate(rows):  # hits only: confirm the bill by its real session ID
        billed = conn.execute(
            text("SELECT 1 FROM billing WHERE session_id = :sid LIMIT 1"),
            {"sid": s["session_id"][i]},
        ).first()
        if billed is not None:
            keep.append(k)
    rows, a, z = rows[keep], a[keep], z[keep]
    sid = np.empty(len(rows), object)
    sid[:] = [s["session_id"][i] for i in rows]
    _emit_frozen(
        {
            "se": s["entry_index"][rows],
            "session_id": sid,
            "meter_id": s["meter_id"][rows],
            "pile_id": s["pile_id"][rows],
            "start_ms": s["start_ms"][rows],
            "energy_wh": s["energy_wh"][rows],
            "ha": hb.entry[a],
            "hz": hb.entry[z],
            "register_wh": hb.register[a],
        },
        out,
    )


def _facts_unbilled(
    conn: Connection,
    reg: _Registry,
    s: Cols,
    billed: np.ndarray,
    hb: _HeartbeatIndex,
    run_names: np.ndarray,
    out: _Out,
) -> None:
    """R21 with the chunk's whole history: a meter's latest session start or heartbeat is
    its data time (as :func:`_meter_times` reads it); unpaired sessions the grace period
    behind it are confirmed in SQL."""
    n = len(s["entry_index"])
    if not n or billed.all():
        return
    code = s["code"]  # sorted by (meter, start): each meter's last row has its latest start
    last = np.r_[code[1:] != code[:-1], True]
    names = s["meter_id"][last].tolist()
    latest = dict(zip(names, s["start_ms"][last].tolist(), strict=True))
    if len(hb):
        end = np.r_[hb.run[1:] != hb.run[:-1], True]
        for name, t in zip(run_names[hb.run[end]].tolist(), hb.ref[end].tolist(), strict=True):
            if name in latest:
                latest[name] = max(latest[name], int(t))
    data_until = np.array([latest[m] for m in names], np.int64)[np.cumsum(last) - last]
    overdue = ~billed & (data_until - UNBILLED_GRACE_MS > s["stop_ms"])
    if overdue.any():
        _unbilled(conn, reg, s["entry_index"][overdue].tolist(), latest, out)


def _pair_bills(session_no: np.ndarray, bill_no: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bill position, session row) of every bill/session pair with equal session codes:
    the facts' version of ``billing JOIN sessions USING (session_id)``."""
    order = np.argsort(session_no, kind="stable")
    ordered = session_no[order]
    lo = np.searchsorted(ordered, bill_no, "left")
    count = np.searchsorted(ordered, bill_no, "right") - lo
    bill = np.repeat(np.arange(len(bill_no)), count)
    first = np.repeat(np.cumsum(count) - count, count)
    within = np.arange(int(count.sum())) - first
    return bill, order[lo[bill] + within]


def _scan_facts_chunk(
    conn: Connection,
    reg: _Registry,
    lo: int,
    hi: int,
    seals: Cols,
    timings: dict[str, float] | None = None,
    ids: list[np.ndarray] | None = None,
) -> list[Finding]:
    """Every per-pile rule over the piles with ``lo <= facts.code(pile_id) <= hi``, their
    whole history at once, from the analysis facts (no time windows, no context rows)."""
    clock = _Stopwatch(timings)
    out = _Out()
    sf, weights, woff = facts.read_sessions(conn, lo, hi)
    order = np.lexsort((sf["entry_index"], sf["start_ms"], sf["meter_no"]))
    entries = sf["entry_index"][order]
    meter_no, pile_no = sf["meter_no"][order], sf["pile_no"][order]
    s: Cols = {
        k: sf[k][order]
        for k in ("entry_index", "start_ms", "stop_ms", "start_wh", "stop_wh", "energy_wh")
    }
    s["interval_s"] = sf["interval_s"][order]
    s["session_id"] = _LazyText(conn, "sessions", "session_id", entries)  # type: ignore[assignment]
    s["meter_id"] = _names(
        meter_no,
        reg.meter_of_code,
        lambda r: _fetch_one(conn, "sessions", "meter_id", int(entries[r])),
    )
    filed = _names(
        pile_no,
        reg.pile_of_code,
        lambda r: _fetch_one(conn, "sessions", "pile_id", int(entries[r])),
    )
    # A registered meter's sessions count on its registry pile (see _home_piles); the
    # fact says whether the record named another pile when it was filed.
    s["pile_id"] = _per_code_names(meter_no, s["meter_id"], reg.meter_pile, filed)
    home_no = _per_code(meter_no, s["meter_id"], reg.meter_pile_no, -1)
    s["other_pile"] = sf["other_pile"][order] | ((home_no >= 0) & (home_no != pile_no))
    s["named_pile"] = _LazyText(conn, "sessions", "pile_id", entries)  # type: ignore[assignment]
    s["ctx"] = np.zeros(len(entries), np.int64)
    s["rated_w"] = _per_code(meter_no, s["pile_id"], reg.pile_rated_w, -1)  # one pile a meter
    s["class_pm"] = _per_code(meter_no, s["meter_id"], reg.meter_class_pm, UNKNOWN_CLASS_PERMILLE)
    s["meter_no"] = meter_no
    s["code"] = _unique(meter_no)[2]  # small: keys
    fact_row = order
    clock.lap("read sessions")
    copy = _session_rules(s, reg, out)
    _profile_rule(
        s, np.arange(len(entries)), sf["profile_ws"][fact_row], sf["nsamp"][fact_row], reg, out
    )
    clock.lap("sessions")
    bf = facts.read_billing(conn, lo, hi)
    if ids is not None:  # (code, entry) of every session and bill, for R22/R24 store-wide
        ids.append(_by_code(sf["session_no"], sf["entry_index"]))
        ids.append(_by_code(bf["session_no"], -1 - bf["entry_index"]))
    bill, rows = _pair_bills(sf["session_no"][order], bf["session_no"])
    b: Cols = {k: v[bill] for k, v in bf.items()}
    b["tcode"] = _lookup_codes(reg.tariff_of_hash, b["tariff_no"])
    b["tariff_id"] = _LazyText(conn, "billing", "tariff_id", b["entry_index"])  # type: ignore[assignment]
    bill_sid = _LazyText(conn, "billing", "session_id", b["entry_index"])

    def fallback(
        rest: np.ndarray, reg: _Registry, trow: np.ndarray, start: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        srows = rows[rest]
        blobs = _power_of(conn, s["entry_index"][srows])
        samples, offsets = _power(blobs)
        pricing = _SamplePricing(samples, offsets, s["interval_s"][srows], np.arange(len(rest)))
        return pricing(reg, trow, start)

    pricing = _HourPricing(weights, woff, sf["hour0"], sf["binned"], fact_row[rows], fallback)
    _bill_rules(s, reg, b, rows, pricing, out, lambda j: bill_sid[j] == s["session_id"][rows[j]])
    # R20 / R21 candidates: bills with no session and sessions with no bill in the chunk
    # (a bill may sit in another chunk: both are confirmed in SQL, only candidates go).
    paired = np.zeros(len(bf["entry_index"]), bool)
    paired[bill] = True
    _orphan_bills(conn, bf["entry_index"][~paired].tolist(), out)
    billed = np.zeros(len(entries), bool)
    billed[rows] = True
    clock.lap("bills")
    hbc = facts.read_heartbeats(conn, lo, hi)
    hb = _HeartbeatIndex(hbc)
    run_names = _names(
        hb.run_meter,
        reg.meter_of_code,
        lambda r: _fetch_one(conn, "heartbeats", "meter_id", int(hb.entry[hb.run_start[r]])),
    )
    clock.lap("read heartbeats")
    _first_session_register(None, s, copy, out, hb)
    _facts_unbilled(conn, reg, s, billed, hb, run_names, out)
    _facts_frozen(conn, s, billed, hb, out)
    mine = (seals["pile_no"] >= lo) & (seals["pile_no"] <= hi)
    chunk_seals = {k: v[mine] for k, v in seals.items()}
    _seal_rule(chunk_seals, reg, out)
    bad, gaps, back = _facts_heartbeat_pass(hb, run_names, reg)
    _clock_rule(bad, reg, out)
    _backwards_rule(back, reg, out)
    _silence_rule(s, chunk_seals, reg, gaps, out)
    _withheld_rule(s, reg, gaps, out)
    clock.lap("heartbeats")
    return out.findings


def _per_code_names(
    codes: np.ndarray, names: np.ndarray, mapping: Mapping[str, str], fallback: np.ndarray
) -> np.ndarray:
    """``mapping[name]`` per row (looked up once per distinct code), else ``fallback``."""
    if not len(codes):
        return np.zeros(0, object)
    _, first, inverse = _unique(codes)
    values = np.empty(len(first), object)
    values[:] = [mapping.get(name) for name in names[first].tolist()]
    out = values[inverse]
    missing = np.array([v is None for v in values.tolist()], bool)[inverse]
    out[missing] = fallback[missing]
    return out


def _per_code(
    codes: np.ndarray, names: np.ndarray, mapping: Mapping[str, int], default: int
) -> np.ndarray:
    """``mapping[name]`` per row, looked up once per distinct code."""
    if not len(codes):
        return np.zeros(0, np.int64)
    _, first, inverse = _unique(codes)
    values = [mapping.get(name, default) for name in names[first].tolist()]
    return np.array(values, np.int64)[inverse]


def _lookup_codes(mapping: Mapping[int, int], keys: np.ndarray) -> np.ndarray:
    if not len(keys):
        return np.zeros(0, np.int64)
    uniq, inverse = np.unique(keys, return_inverse=True)
    return np.array([mapping.get(k, -1) for k in uniq.tolist()], np.int64)[inverse]


def _power_of(conn: Connection, entries: np.ndarray) -> np.ndarray:
    """The ``power_w`` blobs of sessions, in the order of ``entries``."""
    stmt = text("SELECT entry_index, power_w FROM sessions WHERE entry_index IN :ids").bindparams(
        bindparam("ids", expanding=True)
    )
    found: dict[int, bytes] = {}
    for chunk in _chunks(sorted(set(entries.tolist()))):
        found.update((int(e), bytes(p)) for e, p in conn.execute(stmt, {"ids": chunk}))
    arr = np.empty(len(entries), object)
    arr[:] = [found.get(int(e), b"") for e in entries]
    return arr


def _all_seals(conn: Connection) -> Cols:
    """Every seal event (a few per meter a year) with its pile's code, for the chunks."""
    names = ("entry_index", "meter_id", "pile_id", "event", "at_ms")
    cols = _columns(
        conn.execute(text(f"SELECT {', '.join(names)} FROM seal_events")).all(),
        names,
        ("entry_index", "at_ms"),
    )
    cols["ctx"] = np.zeros(len(cols["entry_index"]), np.int64)
    cols["pile_no"] = np.fromiter(
        (facts.code(p) for p in cols["pile_id"].tolist()), np.int64, len(cols["pile_id"])
    )
    return cols


# ---- closing what later data disproves -----------------------------------------------

RECONCILED = frozenset(
    {"R01", "R02", "R03", "R04", "R05", "R06", "R09", "R14", "R15", "R16", "R17", "R18"}
    | {"R25", "R26"}
)
"""Rules whose findings for a meter from ``since`` on are all re-derived by an incremental
window: one it no longer derives was disproved by the batch (a back-filled session between
two whose register gap it fills, an earlier heartbeat that moves a clock-offset rise).
R07/R08 are left out: a back-fill may change which earlier session a finding pairs with,
but the overlap or duplicate it names stays true."""


_AFTER = "({c} > :t OR ({c} = :t AND entry_index > :x)) AND {c} <= :until"
_FIRST_AFTER = tuple(
    text(sql)
    for sql in (
        f"SELECT ref_ms, entry_index FROM heartbeats WHERE meter_id = :m AND ref_ms >= :t "
        f"AND {_AFTER.format(c='ref_ms')} ORDER BY ref_ms, entry_index LIMIT 1",
        f"SELECT start_ms, entry_index FROM sessions WHERE meter_id = :m AND start_ms >= :t "
        f"AND {_AFTER.format(c='start_ms')} ORDER BY start_ms, entry_index LIMIT 1",
        f"SELECT stop_ms, entry_index FROM sessions WHERE meter_id = :m AND start_ms >= :lo "
        f"AND start_ms <= :t AND {_AFTER.format(c='stop_ms')} ORDER BY stop_ms, entry_index "
        "LIMIT 1",
        f"SELECT at_ms, entry_index FROM seal_events WHERE meter_id = :m AND at_ms >= :t "
        f"AND {_AFTER.format(c='at_ms')} ORDER BY at_ms, entry_index LIMIT 1",
    )
)


def _first_after(
    conn: Connection, meter: str, t: int, exclude: int, until: int
) -> tuple[int, int] | None:
    """(time, entry) of the meter's first sign of life after (``t``, entry ``exclude``) in
    (time, entry) order and no later than ``until``: a heartbeat, a session start or
    stop, a seal event (bounded index seeks, the likeliest first)."""
    best: tuple[int, int] | None = None
    params = {"m": meter, "t": t, "x": exclude, "lo": t - MAX_SESSION_MS, "until": until}
    for stmt in _FIRST_AFTER:
        row = conn.execute(stmt, params).first()
        if row is not None and row[0] is not None and (best is None or tuple(row) < best):
            best = (int(row[0]), int(row[1]))
            params["until"] = best[0]
    return best


def _batch_times(
    conn: Connection, summary: BatchSummary, meter_ids: Sequence[str]
) -> dict[str, list[int]]:
    """Each meter's record times (sessions' starts and stops, heartbeats, seal events)
    among the batch's entries, sorted."""
    times: dict[str, list[int]] = {}
    if summary.first_index is None or not meter_ids:
        return times
    for table, cols in (
        ("sessions", ("start_ms", "stop_ms")),
        ("heartbeats", ("ref_ms",)),
        ("seal_events", ("at_ms",)),
    ):
        stmt = text(
            f"SELECT meter_id, {', '.join(cols)} FROM {table} "
            "WHERE entry_index BETWEEN :lo AND :hi AND meter_id IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        for chunk in _chunks(list(meter_ids)):
            params = {"lo": summary.first_index, "hi": summary.last_index, "ids": chunk}
            for meter, *ts in conn.execute(stmt, params):
                times.setdefault(meter, []).extend(int(t) for t in ts)
    for values in times.values():
        values.sort()
    return times


def _any_within(times: Sequence[int], lo: int, hi: int) -> bool:
    k = bisect.bisect_left(times, lo)
    return k < len(times) and times[k] <= hi


def _disproved_silences(
    conn: Connection, reg: _Registry, summary: BatchSummary, meter_ids: Sequence[str]
) -> list[tuple[Finding, int | None, str]]:
    """R10 silences and R27 withheld heartbeats of the meters that the batch's records
    fill (only those with a batch record inside are probed)."""
    out: list[tuple[Finding, int | None, str]] = []
    batch = _batch_times(conn, summary, meter_ids)
    for f in open_findings(conn, ("R10", "R27"), [m for m in meter_ids if m in batch]):
        meter, t1, e1 = f.meter_id or "", f.at_ms, f.evidence[0]
        reach = SILENT_FACTOR * reg.meter_hb_ms.get(meter, 0) if f.rule_id == "R10" else 2**62
        if not _any_within(batch.get(meter, ()), t1, t1 + reach):
            continue
        if f.rule_id == "R10":
            if f.detail.get("kind") != "silent":
                continue
            limit = SILENT_FACTOR * reg.meter_hb_ms.get(meter, 0)
            nxt = _first_after(conn, meter, t1, e1, t1 + limit)
            if nxt is not None:
                out.append((f, nxt[1], "a record of the meter falls inside the silence"))
            continue
        hb = conn.execute(
            text(
                "SELECT ref_ms, entry_index FROM heartbeats WHERE meter_id = :m AND ref_ms >= :t "
                "AND entry_index <> :x ORDER BY ref_ms, entry_index LIMIT 1"
            ),
            {"m": meter, "t": t1, "x": e1},
        ).first()
        t2 = int(_NEVER) if hb is None else int(hb[0])
        in_gap = conn.execute(
            text(
                "SELECT 1 FROM sessions WHERE meter_id = :m AND start_ms > :a AND start_ms < :b "
                "LIMIT 1"
            ),
            {"m": meter, "a": t1 + WITHHELD_MS, "b": min(t2, int(_NEVER) - 1)},
        ).first()
        if hb is not None and (t2 - t1 <= WITHHELD_MS or in_gap is None):
            out.append((f, int(hb[1]), "a heartbeat of the meter falls inside the gap"))
    return out


def _disproved_bills(conn: Connection, reg: _Registry) -> list[tuple[Finding, int | None, str]]:
    """R20 bills whose session arrived, R21 sessions whose bill arrived, R19 piles whose
    rating was corrected: one index probe per open finding."""
    out: list[tuple[Finding, int | None, str]] = []
    for f in open_findings(conn, ("R19", "R20", "R21")):
        if f.rule_id == "R19":
            current = reg.pile_reg.get(f.pile_id or "")
            if current is not None and (
                current[0] not in f.evidence or f.pile_id not in reg.implausible
            ):
                out.append((f, current[0], "the pile was registered again"))
            continue
        table = "sessions" if f.rule_id == "R20" else "billing"
        row = conn.execute(
            text(f"SELECT MIN(entry_index) FROM {table} WHERE session_id = :sid"),
            {"sid": f.detail.get("session_id")},
        ).first()
        if row is not None and row[0] is not None:
            what = "the session arrived" if f.rule_id == "R20" else "the bill arrived"
            out.append((f, int(row[0]), what))
    return out


def _disproved_in_window(
    conn: Connection,
    meter_ids: Sequence[str],
    since: int,
    produced: set[tuple[str, str]],
    summary: BatchSummary,
) -> list[tuple[Finding, int | None, str]]:
    """Findings of :data:`RECONCILED` rules from ``since`` on that the window no longer
    derives; the closing entry is the batch's record of that meter nearest before the
    finding (else nearest after it)."""
    stale = [
        f
        for f in open_findings(conn, RECONCILED, meter_ids)
        if f.at_ms >= since
        and (f.rule_id, f.evidence_key) not in produced
        and not (f.rule_id == "R10" and f.detail.get("kind") == "silent")
    ]
    if not stale:
        return []
    lo, hi = summary.first_index, summary.last_index
    times: dict[str, list[tuple[int, int]]] = {}
    for table, tcol in (
        ("sessions", "start_ms"),
        ("heartbeats", "ref_ms"),
        ("seal_events", "at_ms"),
    ):
        stmt = text(
            f"SELECT meter_id, {tcol}, entry_index FROM {table} "
            "WHERE entry_index BETWEEN :lo AND :hi AND meter_id IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        for chunk in _chunks(sorted({f.meter_id or "" for f in stale})):
            for meter, t, e in conn.execute(stmt, {"lo": lo, "hi": hi, "ids": chunk}):
                times.setdefault(meter, []).append((int(t), int(e)))
    out = []
    for f in stale:
        mine = sorted(times.get(f.meter_id or "", []))
        before = [te for te in mine if te[0] <= f.at_ms]
        entry = before[-1][1] if before else (mine[0][1] if mine else summary.last_index)
        out.append((f, entry, "re-derived without it after the batch"))
    return out


def close_disproved(
    conn: Connection,
    summary: BatchSummary,
    meter_ids: Sequence[str],
    since: int | None,
    produced: Iterable[Finding],
    registry: _Registry | None = None,
) -> list[Closure]:
    """Closes the stored findings a synced batch disproves (see the rules above); the
    audit log names the entry that did it. Call after the batch's rules ran."""
    reg = registry or _Registry.load(conn)
    keys = {(f.rule_id, f.evidence_key) for f in produced}
    items = _disproved_silences(conn, reg, summary, meter_ids) + _disproved_bills(conn, reg)
    if since is not None and summary.first_index is not None:
        items += _disproved_in_window(conn, meter_ids, since, keys, summary)
    return close_findings(conn, items)


def scan(
    conn: Connection,
    meter_ids: Sequence[str],
    since: int | None = None,
    until: int | None = None,
    *,
    registry: _Registry | None = None,
    keys: bool = True,
    trailing: bool = True,
    integrity: bool = True,
    stops_in_window: bool = False,
) -> list[Finding]:
    """All findings for ``meter_ids`` over [since, until) (None: unbounded), not stored.

    ``integrity`` with no time bounds adds the whole store's registry, bill and identity
    rules (R19–R24: the SQL counterpart of the rescan's)."""
    reg = registry or _Registry.load(conn)
    ids = sorted(set(meter_ids))
    found = (
        _scan_chunk(conn, reg, ids, since, until, stops_in_window=stops_in_window) if ids else []
    )
    if keys and ids:
        found += _key_rule(conn, reg, ids)
    if trailing:
        found += _trailing_silence(conn, reg)
    if integrity and since is None and until is None:
        out = _Out()
        bills = [int(r[0]) for r in conn.execute(text("SELECT entry_index FROM billing"))]
        _orphan_bills(conn, bills, out)
        _unbilled_window(conn, reg, ids, None, out)
        found += out.findings + _store_integrity(conn, reg)
    return found


def _store_integrity(
    conn: Connection,
    reg: _Registry,
    repeated: tuple[list[str], list[str]] | None = None,
) -> list[Finding]:
    """R19, R22, R23, R24 over the whole store. ``repeated``: (session IDs billed more than
    once, session IDs of more than one session) when the caller knows them (the rescan,
    from the facts' hashes); else one pass over each session_id index."""
    out = _Out()
    billed_twice, sent_twice = repeated if repeated is not None else (None, None)
    _double_bills(conn, billed_twice, out)
    _foreign_bills(conn, reg, None, out)
    _resent_sessions(conn, reg, sent_twice, out)
    return _registry_rule(reg) + out.findings


def _by_code(codes: np.ndarray, entries: np.ndarray) -> np.ndarray:
    """A chunk's (code, entry) pairs as a 2 × n array sorted by code: the parent merges the
    chunks' sorted runs (cheap) and finds a code's entries by binary search, instead of
    re-sorting ~21 M pairs of a city-year in one process."""
    order = np.argsort(codes, kind="stable")
    return np.stack([codes[order], entries[order]])


def _repeated_ids(conn: Connection, ids: list[np.ndarray]) -> tuple[list[str], list[str]]:
    """From the chunks' (session code, entry) pairs sorted by code (:func:`_by_code`; bills
    with entries as -1 - entry): the session IDs billed more than once and those carried
    by more than one session, confirmed by their real IDs (a hash collision must not make
    a finding)."""
    out: tuple[list[str], list[str]] = ([], [])
    for k, table in enumerate(("billing", "sessions")):
        parts = [p for p in ids if p.shape[1] and (p[1, 0] < 0) == (table == "billing")]
        if not parts:
            continue
        codes = np.concatenate([p[0] for p in parts])
        codes.sort(kind="stable")  # merges the chunks' sorted runs
        twice = np.unique(codes[1:][codes[1:] == codes[:-1]])
        del codes
        entries: list[int] = []
        for p in parts:
            lo = np.searchsorted(p[0], twice, "left")
            hi = np.searchsorted(p[0], twice, "right")
            for a, b in zip(lo[hi > lo].tolist(), hi[hi > lo].tolist(), strict=True):
                entries += p[1, a:b].tolist()
        found = {
            _fetch_one(conn, table, "session_id", int(e if e >= 0 else -1 - e)) for e in entries
        }
        out[k].extend(sorted(sid for sid in found if sid is not None))
    return out


def _batch_integrity(
    conn: Connection,
    reg: _Registry,
    summary: BatchSummary,
    meter_ids: Sequence[str],
    since: int | None,
) -> list[Finding]:
    """R19–R24 for a synced batch: its bills, its sessions' IDs, its registry records and
    the sessions of its meters the batch may have made overdue (R21)."""
    out = _Out()
    bills = summary.billing_entries
    if bills:
        _orphan_bills(conn, bills, out)
        sids = _ids_query(
            conn,
            "SELECT session_id FROM billing WHERE entry_index IN :ids",
            bills,
            ("session_id",),
            (),
        )["session_id"]
        _double_bills(conn, sids.tolist(), out)
        _foreign_bills(conn, reg, (min(bills), max(bills)), out)
    if summary.session_entries:
        sids = _ids_query(
            conn,
            "SELECT session_id FROM sessions WHERE entry_index IN :ids",
            summary.session_entries,
            ("session_id",),
            (),
        )["session_id"]
        _resent_sessions(conn, reg, sids.tolist(), out)
    _unbilled_window(conn, reg, meter_ids, since, out)
    found = out.findings
    if summary.counts.get("pile"):
        found += _registry_rule(reg)
    return found


def _batch_since(conn: Connection, summary: BatchSummary) -> int | None:
    """The earliest record time among the batch's entries (their index range), reaching
    back to the sessions of the batch's bills."""
    if summary.first_index is None:
        return None
    lo, hi = summary.first_index, summary.last_index
    row = conn.execute(
        text(
            "SELECT MIN(t) FROM ("
            "SELECT MIN(start_ms) AS t FROM sessions WHERE entry_index BETWEEN :lo AND :hi "
            "UNION ALL SELECT MIN(start_ms) FROM billing WHERE entry_index BETWEEN :lo AND :hi "
            # a bill's own start may be later than its session's (the operator's clock):
            # the window must reach back to the session for the bill to be checked
            "UNION ALL SELECT MIN(s.start_ms) FROM billing b JOIN sessions s "
            "ON s.session_id = b.session_id WHERE b.entry_index BETWEEN :lo AND :hi "
            "UNION ALL SELECT MIN(ref_ms) FROM heartbeats WHERE entry_index BETWEEN :lo AND :hi "
            "UNION ALL SELECT MIN(at_ms) FROM seal_events WHERE entry_index BETWEEN :lo AND :hi"
            ") q"
        ),
        {"lo": lo, "hi": hi},
    ).scalar()
    return None if row is None else int(row)


def run_incremental(
    conn: Connection, summary: BatchSummary, closed: list[Closure] | None = None
) -> list[Finding]:
    """Rules over what a synced batch touched; stores and returns the new findings.

    Call in (or right after) the batch's transaction. The window starts at the batch's
    earliest record time; the previous session/heartbeat per meter comes along as context
    so register and clock comparisons across the batch boundary still work. Registry
    changes (a new tariff, a re-keyed meter, a verification) re-check their meters too.
    Findings the batch disproves are closed (:func:`close_disproved`), listed in ``closed``.
    """
    meters = set(summary.meter_ids)
    if summary.pile_ids:
        stmt = text("SELECT meter_id FROM meters WHERE pile_id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        )
        for chunk in _chunks(sorted(summary.pile_ids)):
            meters.update(r[0] for r in conn.execute(stmt, {"ids": chunk}))
    if not meters and not summary.total:
        return []
    since = _batch_since(conn, summary)
    reg = _Registry.load(conn)
    window: int | None = None  # from when every RECONCILED finding was re-derived
    if since is None and not summary.registry_changed:
        found = _trailing_silence(conn, reg)
    else:
        found = scan(conn, sorted(meters), since, registry=reg, integrity=False)
        found += _batch_integrity(conn, reg, summary, sorted(meters), since)
        window = since if since is not None else -(2**62)
    new = insert_findings(conn, found)
    closures = close_disproved(conn, summary, sorted(meters), window, found, reg)
    if closed is not None:
        closed.extend(closures)
    return new


_worker_state: dict[str, Any] = {}


def _worker_init(url: str, owner: int) -> None:
    """A rescan worker process: its own engine, registry and seal list (read-only work);
    it ends with the process that started the rescan."""
    from ledger.sigcheck import exit_with_owner

    exit_with_owner(owner)
    engine = st.create_store_engine(url)
    _worker_state["engine"] = engine
    with engine.connect() as conn:
        _worker_state["registry"] = _Registry.load(conn)
        _worker_state["seals"] = _all_seals(conn)


def _worker_scan(lo: int, hi: int) -> tuple[list[Finding], list[np.ndarray]]:
    ids: list[np.ndarray] = []
    with _worker_state["engine"].connect() as conn:
        found = _scan_facts_chunk(
            conn, _worker_state["registry"], lo, hi, _worker_state["seals"], ids=ids
        )
    return found, ids


def full_rescan(
    store: st.Store,
    *,
    chunks: int | None = None,
    workers: int = 1,
    timings: dict[str, float] | None = None,
    closed: list[Closure] | None = None,
) -> list[Finding]:
    """Every rule over the whole store; stores and returns the new findings. Stored
    findings it no longer derives are closed (listed in ``closed``).

    Reads the analysis facts (:mod:`app.models.charging.facts`), pile range by pile range, each
    range's whole history at once: ``chunks`` ranges (default: about one per
    :data:`ENTRIES_PER_CHUNK` log entries), so memory stays bounded by one chunk. Chunks
    are read outside any write transaction (a rescan never blocks the sync) and each
    chunk's findings are stored in a short transaction of their own. Chunks are
    independent: ``workers > 1`` scans them in that many processes (file or server
    databases only); the parent stores their findings and, while they scan, runs the
    store-wide rules that need no chunk. ``timings`` (sequential runs)
    collects seconds per phase.
    """
    with store.engine.connect() as conn:
        if chunks is None:
            top = conn.execute(text("SELECT MAX(entry_index) FROM entries")).scalar()
            chunks = max(1, -(-(int(top or 0) + 1) // ENTRIES_PER_CHUNK))
        keyed = [r[0] for r in conn.execute(text("SELECT DISTINCT meter_id FROM meter_keys"))]
    ranges = facts.pile_ranges(chunks)
    new: list[Finding] = []
    produced: set[tuple[str, str]] = set()
    ids: list[np.ndarray] = []

    def store_found(found: list[Finding]) -> None:
        clock = _Stopwatch(timings)
        produced.update((f.rule_id, f.evidence_key) for f in found)
        with store.transaction() as conn:
            new.extend(insert_findings(conn, found))
        clock.lap("store")

    def store_wide(conn: Connection) -> tuple[_Registry, Cols, list[Finding]]:
        """The registry, the seals and the store-wide rules that need no chunk (R17 keys,
        trailing silences); the parallel rescan runs this while the workers scan."""
        clock = _Stopwatch(timings)
        reg = _Registry.load(conn)
        seals = _all_seals(conn)
        clock.lap("registry")
        found = _key_rule(conn, reg, sorted(keyed))
        clock.lap("keys")
        found += _trailing_silence(conn, reg)
        clock.lap("trailing")
        return reg, seals, found

    database = store.engine.url.database or ""
    if workers > 1 and len(ranges) > 1 and ":memory:" not in database:
        url = store.engine.url.render_as_string(hide_password=False)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, context, _worker_init, (url, os.getpid())) as pool:
            results = pool.map(_worker_scan, *zip(*ranges, strict=True))  # submits all
            with store.engine.connect() as conn:
                reg, _seals, wide = store_wide(conn)
            for found, chunk_ids in results:
                ids += chunk_ids
                store_found(found)
    else:
        with store.engine.connect() as conn:
            reg, seals, wide = store_wide(conn)
        for lo, hi in ranges:
            with store.engine.connect() as conn:
                found = _scan_facts_chunk(conn, reg, lo, hi, seals, timings, ids)
            store_found(found)
    clock = _Stopwatch(timings)
    with store.engine.connect() as conn:
        found = wide + _store_integrity(conn, reg, _repeated_ids(conn, ids))
    clock.lap("bills and identity")
    store_found(found)
    with store.transaction() as conn:
        closures = _close_unfound(conn, produced)
    if closed is not None:
        closed.extend(closures)
    new.sort(key=lambda f: (f.at_ms, f.rule_id, f.evidence))
    return new


def _close_unfound(conn: Connection, produced: set[tuple[str, str]]) -> list[Closure]:
    """After a full rescan: open findings it did not derive are closed, by the store's
    newest entry (the state of the log that no longer supports them)."""
    engine_rules = [r for r, rule in CATALOGUE.items() if rule.in_engine and r in ENGINE_RULE_IDS]
    stale = [
        f for f in open_findings(conn, engine_rules) if (f.rule_id, f.evidence_key) not in produced
    ]
    if not stale:
        return []
    top = conn.execute(text("SELECT MAX(entry_index) FROM entries")).scalar()
    return close_findings(conn, [(f, top, "not derived by a full rescan") for f in stale])
