"""Injected fuel-station faults: the classes, the ``--faults`` spec, and ground-truth entries.

Each class is a fraud or failure the 2023–24 national campaign on fuel cheating found
(cheat boards, back-office software, tampered totalizers) or a metrology event the
安心加油 platform must alarm on (seal opened, component swapped, prices), named after
the rule that must catch it (rule IDs in docs/rules.md, "Fuel dispensers"):

=====================  ==============================================  =========
fault                  injected as                                     rules
=====================  ==============================================  =========
cheat_board            every dispenser of a station over-counts litres  F09
                       by 1–5 % (fuellings, totalizers and sales agree:
                       only the tank loses less than was sold)
cheat_software         back office on one nozzle: ``tax_cut`` (the tax  F02 / F04
                       box's totals grow 5–20 % less than the
                       dispenser's) or ``pos_edit`` (POS sales declare
                       3–10 % less volume and amount than the fuelling)
tampered_totalizer     a nozzle's totalizer set back (``backwards``) or  F06, F01
                       forward (``jump``) by 100–5,000 L between two
                       fuellings
price                  ``posted`` (the dispenser charges 10–50 fen/L    F05 / F03
                       above the posted price) or ``amount`` (amount ≠
                       volume × price by 5–300 fen)
seal                   a seal opened (or a tamper event) with no         F08
                       verification
component_swap         an encoder or control board replaced, no         F07
                       inspector initialises it within 7 days
round_amounts          a dispenser stops 60–70 % of its fuellings just   F10
                       under ¥100/¥200/¥300 for whole local days
=====================  ==============================================  =========

The spec (``--faults``): ``none`` (a clean fleet), ``all`` (one of each), ``all=N``, or
``name=N,name=N`` (counts for the whole run); combined left to right.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FAULTS: dict[str, tuple[str, ...]] = {
    "cheat_board": ("F09",),
    "cheat_software": ("F02", "F04"),
    "tampered_totalizer": ("F06", "F01"),
    "price": ("F05", "F03"),
    "seal": ("F08",),
    "component_swap": ("F07",),
    "round_amounts": ("F10",),
}
"""fault class -> the rules its variants claim (a truth entry names its own subset)."""


class FaultSpecError(ValueError):
    """A ``--faults`` spec that names no fault class or has a bad count."""


def parse_spec(spec: str | None) -> dict[str, int]:
    """Counts per fault class from a ``--faults`` spec (see the module doc)."""
    counts = dict.fromkeys(FAULTS, 0)
    if spec is None:
        return counts
    for part in (p.strip() for p in spec.split(",")):
        if not part or part == "none":
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        try:
            n = int(value) if sep else 1
        except ValueError as exc:
            raise FaultSpecError(f"--faults {part!r}: {value!r} is not a whole number") from exc
        if n < 0:
            raise FaultSpecError(f"--faults {part!r}: the count must not be negative")
        if name == "all":
            counts = dict.fromkeys(FAULTS, n)
        elif name in FAULTS:
            counts[name] = n
        else:
            raise FaultSpecError(
                f"--faults {part!r}: unknown fault class; one of none, all, {', '.join(FAULTS)}"
            )
    return counts


@dataclass
class Truth:
    """One ground-truth entry: a fault and the rules that must find it, where and when.

    ``rules`` empty means "injected but below what a rule can see" (a cheat board on a
    tank that sold too little that day for wet-stock reconciliation to notice); a
    finding matching it is still right, but no rule is required to find it."""

    fault: str
    rules: list[str]
    dispenser_id: str
    from_ms: int
    to_ms: int
    nozzle: int | None = None
    tank_id: str | None = None
    station_id: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "fault": self.fault,
            "rules": list(self.rules),
            "dispenser_id": self.dispenser_id,
            "station_id": self.station_id,
            "from_ms": self.from_ms,
            "to_ms": self.to_ms,
            "detail": self.detail,
        }
        if self.nozzle is not None:
            out["nozzle"] = self.nozzle
        if self.tank_id is not None:
            out["tank_id"] = self.tank_id
        return out


@dataclass
class Planned:
    """A fault chosen before the traffic is drawn: where, when and how strong."""

    fault: str
    station: int
    """index into the fleet's stations"""
    dispenser: int
    nozzle: int
    from_ms: int
    to_ms: int
    params: dict[str, Any] = field(default_factory=dict)


# ---- scoring a detector against the truth (bench/anomaly_bench.py --kind fuel) ------------

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
SLACK_MS: dict[str, tuple[int, int]] = {
    "F01": (0, 2 * HOUR_MS),  # the next totalizer reading shows it
    "F02": (0, 2 * HOUR_MS),
    "F03": (0, 0),
    "F04": (0, DAY_MS + 2 * HOUR_MS),  # a missing sale is a finding a day later
    "F05": (0, 0),
    "F06": (0, 2 * DAY_MS),  # a totalizer set back stays below its old readings
    "F07": (0, DAY_MS),  # found once the 7 days are out
    "F08": (HOUR_MS, HOUR_MS),
    "F09": (0, DAY_MS),
    "F10": (0, DAY_MS),
}
"""How far before / after a truth entry's window a finding of the rule may be dated."""


@dataclass(frozen=True)
class FoundRow:
    """What scoring needs of a finding (an ``anomalies`` row): the rule, the instrument
    (dispenser ID), the measuring part (``D…#n`` nozzle or a tank ID) and its time."""

    rule_id: str
    pile_id: str | None
    meter_id: str | None
    at_ms: int


def matches(entry: dict[str, Any], row: FoundRow) -> bool:
    """The finding is about this truth entry's instrument and time (any rule)."""
    before, after = SLACK_MS.get(row.rule_id, (0, 0))
    if not entry["from_ms"] - before <= row.at_ms <= entry["to_ms"] + after:
        return False
    tank = entry.get("tank_id")
    if tank is not None and row.meter_id == tank:
        return True
    if row.pile_id != entry["dispenser_id"] and row.meter_id != entry["dispenser_id"]:
        # a station-wide cheat shows at any of its dispensers' tanks (checked above)
        return False
    nozzle = entry.get("nozzle")
    if nozzle is None or not row.meter_id or "#" not in row.meter_id:
        return True
    return row.meter_id.rsplit("#", 1)[1] == str(nozzle)


def observable(entry: dict[str, Any], end_ms: int) -> bool:
    """Whether the run lasted long enough for the entry's rules to be able to fire."""
    if entry["fault"] == "component_swap":
        return entry["to_ms"] + HOUR_MS <= end_ms
    return entry["from_ms"] < end_ms


def score(
    rows: list[FoundRow], truth: list[dict[str, Any]], end_ms: int
) -> tuple[dict[str, tuple[int, int]], dict[tuple[str, str], tuple[int, int]]]:
    """({rule: (findings matching a fault that claims the rule, findings)},
    {(fault, rule): (entries found by the rule, observable entries requiring it)}).

    A finding is right when a truth entry of a fault class that claims its rule
    (``FAULTS``) is at its instrument and time — also an entry with no required rule
    (a cheat too small for one tank-day still is a cheat); recall counts the entries
    whose ``rules`` list the rule."""
    precision: dict[str, list[int]] = {}
    found: set[tuple[int, str]] = set()
    for row in rows:
        cell = precision.setdefault(row.rule_id, [0, 0])
        cell[1] += 1
        hits = [
            k
            for k, e in enumerate(truth)
            if row.rule_id in FAULTS.get(e["fault"], ()) and matches(e, row)
        ]
        if hits:
            cell[0] += 1
            found.update((k, row.rule_id) for k in hits)
    recall: dict[tuple[str, str], list[int]] = {}
    for k, e in enumerate(truth):
        if not observable(e, end_ms):
            continue
        for rule in e["rules"]:
            cell = recall.setdefault((e["fault"], rule), [0, 0])
            cell[1] += 1
            cell[0] += (k, rule) in found
    return (
        {r: (a, b) for r, (a, b) in precision.items()},
        {key: (a, b) for key, (a, b) in recall.items()},
    )


def unmatched(rows: list[FoundRow], truth: list[dict[str, Any]]) -> list[FoundRow]:
    """The findings no truth entry of a class claiming their rule explains (false alarms)."""
    return [
        row
        for row in rows
        if not any(row.rule_id in FAULTS.get(e["fault"], ()) and matches(e, row) for e in truth)
    ]
