"""What every instrument kind's rules produce, and the catalogue they are listed in.

The core (alarms, the alarm queue, rule policy, evidence bundles) works on `Finding`s
and looks a rule up in `CATALOGUE` by its ID; each kind registers its numbered rules
(charging R01–R27 in `app.models.rules`, fuel F01… in `app.models.fuel.rules`). A
finding's ``pile_id`` column names the instrument it is about — a charging pile or a
fuel dispenser — and ``meter_id`` its measuring part (a pile's meter, a dispenser's
nozzle ``D…#n``): the store's column names predate the second kind (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.models import store as st

SEVERITIES = ("info", "warning", "high", "critical")
ALARM_SEVERITIES = frozenset({"high", "critical"})


@dataclass(frozen=True)
class Rule:
    """One numbered rule as the regulator sees it (titles and explanations zh + en)."""

    rule_id: str
    severity: str
    title_zh: str
    title_en: str
    explain_zh: str
    explain_en: str
    evidence: str
    """Which entries a finding cites, in its evidence list (for the UI and the report)."""
    in_engine: bool = True


CATALOGUE: dict[str, Rule] = {}
"""Every registered kind's rules by ID."""


def register_rules(rules: Iterable[Rule]) -> None:
    """Adds a kind's rules; an ID already taken by another rule is a programming error."""
    for rule in rules:
        known = CATALOGUE.get(rule.rule_id)
        if known is not None and known != rule:
            raise ValueError(f"rule {rule.rule_id} is already registered as {known.title_en!r}")
        if rule.severity not in SEVERITIES:
            raise ValueError(f"rule {rule.rule_id}: unknown severity {rule.severity!r}")
        CATALOGUE[rule.rule_id] = rule


@dataclass(frozen=True)
class Finding:
    """One rule hit: what, where, when, how bad, and the entries it rests on."""

    rule_id: str
    pile_id: str | None
    """The instrument: a charging pile's or a fuel dispenser's ID."""
    meter_id: str | None
    """Its measuring part: a pile's meter, a dispenser's nozzle."""
    at_ms: int
    severity: str
    evidence: tuple[int, ...]
    detail: Mapping[str, Any] = field(default_factory=dict)
    anomaly_id: int | None = None
    """The ``anomalies`` row id once stored."""

    @property
    def evidence_key(self) -> str:
        return st.evidence_key(self.evidence)

    @property
    def rule(self) -> Rule:
        return CATALOGUE[self.rule_id]
