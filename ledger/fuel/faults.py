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
