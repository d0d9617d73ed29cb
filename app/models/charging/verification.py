"""On-site verification of a charging pile with the virtual-load rig (JJG 1148/1149-2022).

Shape (pymeasure's ``Procedure``): a plain class whose :meth:`run` walks the
steps of a :class:`VerificationPlan`, reports through ``emit(topic, payload)``
and checks ``should_stop()`` between and inside steps.  It is Qt-free, so it
is unit-tested against the simulator without a GUI; ``app.verification_worker``
runs it on a QThread and turns ``emit`` into signals.

Durability: every fact (checklist answers, insulation, each reading, clock)
is appended to a JSONL :class:`Journal` and fsync'ed *before* it is emitted.
The journal is the single source of truth: the result is rebuilt from it, a
re-run with the same journal skips what is already recorded, and a USB unplug
(:class:`DeviceDisconnected`) pauses the run, asks the ``reconnect`` handler
for the re-enumerated port and resumes at the interrupted reading — the rig is
mains powered and keeps its measurement window across the unplug, so a
window that was running continues where it was.

Time base: every wait and window is timed by the rig's clock (window ``t_ms``,
``SYST:TIME?``), never by the laptop's, so the simulator's ``--speed`` shortens
the ~10-minute run to seconds without changing the code.

Items and order (JJG 1148-2022 AC / JJG 1149-2022 DC): the verification
CONDITIONS come first — a traceable reference standard of the right kind
(JJG 1193-2023 AC / JJG 1192-2023 DC, certificate not expired), the ambient
temperature and humidity, and the insulation resistance (≥ 5 MΩ); a pile that
does not meet them "不满足检定条件": it is not energised, gets no error test
and no notice of failed items.  Then the items: 1 外观及功能检查, 2 工作误差
(Imax, 0.5·Imax, Imin; two gated readings each, averaged, rounded to a tenth of
the limit), 3 时钟时刻误差 (only for piles with time-of-use billing).  The
2018 payment-amount item is an optional, labelled extra.

Readings are gated on the pile's pulse edges (``ENER:GATE``): the standard
energy between the opening edge and the N-th edge after it, so no fraction of a
pulse is lost.  A window that ends short of its pulses is journaled and not
judged; the reading is taken again.

Time budget (rig time, default DC pile 120 kW / 750 V, class 1, 1000 imp/kWh;
see :meth:`VerificationPlan.budget`): connect and conditions ≈ 8 s, three load
points × 2 readings × ≥ 30 s, settling, clock ≤ 2 s: about 4 minutes, well
inside the 10-minute goal.  Imin without a marked value is Imax/10 (derived,
and printed as derived).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from app.devices.dlt645 import Dlt645Meter
from app.devices.errors import DeviceDisconnected, DeviceError
from app.devices.rig import NotARig, Rig, RigTimeout, SourceMode
from app.models.charging import metrology as m
from app.models.verification_parts import CST, ChecklistItem, Journal, round_to_step, to_ppm
from ledger.keys import SigningKey
from ledger.records import Record, sign_record

__all__ = [
    "CHECKLIST",
    "CONDITIONS_NOT_MET",
    "AutoPrompt",
    "ClockResult",
    "InspectorPrompt",
    "JournalMismatch",
    "LiveSample",
    "LoadPoint",
    "PaymentResult",
    "PileSpec",
    "PointResult",
    "Progress",
    "Question",
    "Reading",
    "ReferenceStandard",
    "SiteConditions",
    "StandardNotTraceable",
    "VerificationAborted",
    "VerificationConfig",
    "VerificationPlan",
    "VerificationProcedure",
    "VerificationResult",
    "beijing_now",
    "plan_verification",
    "read_meter_clock",
]

WILDCARD_ADDRESS = "AAAAAAAAAAAA"


def beijing_now() -> dt.datetime:
    """Reference time for the clock check: the laptop's (NTP-synced) clock in Beijing time.

    Why not the rig's clock: ``SYST:TIME?`` is milliseconds since the rig
    powered on, a time *base* with no calendar; it times the windows, the
    laptop supplies the date and time of day the meter is compared with.
    """
    return dt.datetime.now(CST).replace(tzinfo=None)


# --------------------------------------------------------------------------- errors

#: Verdict of a run whose conditions (insulation, environment) were not met.
CONDITIONS_NOT_MET = "conditions_not_met"


class VerificationAborted(Exception):
    """The run stopped before a verdict: the inspector stopped it or declined a step."""


class JournalMismatch(Exception):
    """The journal on disk belongs to a different pile or plan; it is not resumed."""


class StandardNotTraceable(Exception):
    """The rig cannot serve as the reference standard: unknown, expired or the wrong kind."""


# --------------------------------------------------------------------------- inspector


@dataclass(frozen=True)
class Question:
    """A yes/no (or number) question to the inspector; the GUI translates by ``key``."""

    key: str
    text: str


#: Appearance and function checks of JJG 1148/1149-2022 (通用技术要求 / 外观及功能检查).
CHECKLIST: tuple[ChecklistItem, ...] = (
    ChecklistItem("nameplate", "Nameplate and markings complete (model, serial, class, constant)"),
    ChecklistItem("housing", "Housing, connector and cable undamaged"),
    ChecklistItem("display", "Display shows energy, amount and time legibly"),
    ChecklistItem("seals", "Metrological seals intact"),
    ChecklistItem("pulse_output", "Energy pulse output and test terminals accessible"),
    ChecklistItem("communication", "Meter communication (RS-485) port works"),
)
Q_WIRING = Question(
    "wiring",
    "Connect the rig to the gun under test: voltage and current leads to its meter, pulse "
    "lead to the meter's pulse output, RS-485 to the meter port. Start energising?",
)
Q_AMOUNT = Question(
    "amount", "Enter the amount (yuan) the pile displays for the energy just registered"
)


class InspectorPrompt(Protocol):
    """What the procedure needs from a person (Electrum's HardwareHandlerBase, Qt-free).

    The Qt implementation emits a signal and blocks the worker thread on a
    ``threading.Event`` until the GUI answers; tests use :class:`AutoPrompt`.
    """

    def confirm(self, question: Question) -> bool: ...

    def checklist(self, items: Sequence[ChecklistItem]) -> dict[str, bool]: ...

    def ask_number(self, question: Question) -> Decimal | None: ...


@dataclass
class AutoPrompt:
    """An inspector who answers at once: every check passes unless listed in ``failing``."""

    failing: frozenset[str] = frozenset()
    confirm_answer: bool = True
    number: Decimal | None = None
    asked: list[str] = field(default_factory=list)

    def confirm(self, question: Question) -> bool:
        self.asked.append(question.key)
        return self.confirm_answer

    def checklist(self, items: Sequence[ChecklistItem]) -> dict[str, bool]:
        self.asked.append("checklist")
        return {item.key: item.key not in self.failing for item in items}

    def ask_number(self, question: Question) -> Decimal | None:
        self.asked.append(question.key)
        return self.number


#: Given the disconnect, return the rig's new port path (None = give up).
Reconnector = Callable[[DeviceDisconnected], str | None]
Emit = Callable[[str, object], None]


# --------------------------------------------------------------------------- pile and plan


@dataclass(frozen=True)
class PileSpec:
    """What the nameplate and the registry say about the pile under test."""

    pile_id: str
    meter_id: str
    kind: str = "DC"
    rated_power_w: int = 120_000
    rated_voltage_v: Decimal = Decimal(750)
    max_current_a: Decimal | None = None
    min_current_a: Decimal | None = None
    accuracy_class: str = "1"
    meter_constant: int = 1000
    phases: int = 1
    meter_address: str = WILDCARD_ADDRESS
    meter_baud: int = 2400
    station: str = ""
    operator: str = ""
    model: str = ""
    maker: str = ""
    unit_price_yuan: Decimal | None = None
    connectors: int = 1  # guns (充电枪), each with its own meter, verified one by one
    #: (meter ID, DL/T 645 address) per gun, gun 1 first; empty: every gun uses
    #: ``meter_id`` / ``meter_address`` (a single-gun pile, or a registry without them).
    gun_meters: tuple[tuple[str, str], ...] = ()
    time_of_use: bool = True  # 分时计费: only then is the clock item judged
    serial_no: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("DC", "AC"):
            raise ValueError(f"pile kind must be DC or AC, got {self.kind!r}")
        m.class_limit_percent(self.accuracy_class)
        if self.meter_constant <= 0:
            raise ValueError("meter constant must be positive (imp/kWh)")
        if self.connectors < 1:
            raise ValueError("a pile has at least one gun (connector)")
        if self.gun_meters and len(self.gun_meters) != self.connectors:
            raise ValueError(
                f"pile {self.pile_id}: {self.connectors} gun(s) but {len(self.gun_meters)} meter(s)"
            )

    def meter_of(self, connector: int) -> tuple[str, str]:
        """(meter ID, DL/T 645 address) of gun ``connector`` (1-based)."""
        if self.gun_meters:
            return self.gun_meters[connector - 1]
        return self.meter_id, self.meter_address

    @property
    def imax_derived(self) -> bool:
        return self.max_current_a is None

    @property
    def imin_derived(self) -> bool:
        return self.min_current_a is None

    @property
    def imin_a(self) -> Decimal:
        """Marked Imin, else Imax / 10 (the rule for piles with no marked Imin)."""
        if self.min_current_a is not None:
            return Decimal(self.min_current_a)
        return m.derived_imin(self.imax_a)

    @property
    def regulation(self) -> str:
        return "JJG 1149-2022" if self.kind == "DC" else "JJG 1148-2022"

    @property
    def drive_phases(self) -> int:
        return self.phases if self.kind == "AC" else 1

    @property
    def imax_a(self) -> Decimal:
        """Marked Imax, else rated power / (phases × nominal voltage)."""
        if self.max_current_a is not None:
            return Decimal(self.max_current_a)
        return m.imax_from_rating(self.rated_power_w, self.rated_voltage_v * self.drive_phases)


@dataclass(frozen=True)
class VerificationConfig:
    """Choices the regulations leave to the verifying body; defaults fit 10 minutes."""

    kind: str = "first"
    readings_per_point: int = 2
    #: None: the pile's marked Imin, else Imax/10.  A number overrides both (and the
    #: certificate then says so), for bodies whose procedure prescribes another point.
    imin_fraction: Decimal | None = None
    insulation_test_v: int | None = None  # None: 1000 V for DC, 500 V for AC
    settle_ms: int = 500
    stream_hz: int = 20
    check_payment: bool = False  # JJG 1149-2018 payment amount: optional, labelled as such
    cycle_years: int = m.VERIFICATION_CYCLE_YEARS  # the certificate's validity
    budget_s: int = 600
    window_timeout_factor: int = 3
    connector: int = 1  # the gun under test (1-based)
    min_reading_s: int = m.READING_MIN_S
    min_pulses: int = m.READING_MIN_PULSES
    short_window_retries: int = 2
    #: Ambient conditions accepted for on-site verification (workstation defaults;
    #: the 2022 texts' figures could not be read, see docs/metrology.md).
    temperature_range_c: tuple[Decimal, Decimal] = (Decimal(-25), Decimal(55))
    humidity_max_pct: Decimal = Decimal(95)
    #: The verifying body's 计量标准考核证书 number (printed and signed).
    approval_certificate_no: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("first", "periodic", "triggered"):
            raise ValueError(f"verification kind must be first/periodic/triggered: {self.kind!r}")
        if self.readings_per_point < 2:
            raise ValueError("JJG 1148/1149 need two or more readings per load point")
        if not 1 <= self.stream_hz <= 50:
            raise ValueError("stream rate must be 1–50 Hz")
        if self.connector < 1:
            raise ValueError("guns are numbered from 1")
        m.certificate_valid_until(dt.date(2026, 1, 1), self.cycle_years)  # validates the range


@dataclass(frozen=True)
class SiteConditions:
    """What the inspector measures or applies on site (JJF 1069 wants them on the certificate)."""

    temperature_c: Decimal
    humidity_pct: Decimal
    seal_no: str = ""  # number of the seal applied after verification

    def problems(self, config: VerificationConfig) -> list[str]:
        low, high = config.temperature_range_c
        out = []
        if not low <= self.temperature_c <= high:
            out.append(f"ambient temperature {self.temperature_c} °C outside {low}–{high} °C")
        if not 0 <= self.humidity_pct <= config.humidity_max_pct:
            out.append(f"relative humidity {self.humidity_pct} % above {config.humidity_max_pct} %")
        return out


@dataclass(frozen=True)
class ReferenceStandard:
    """The rig as the verification's reference standard, with its own traceability."""

    model: str
    serial: str
    kind: str  # what its certificate covers: DC (JJG 1192-2023), AC (JJG 1193-2023), ACDC
    accuracy: str  # class or uncertainty as on its certificate
    certificate_no: str
    expiry: dt.date
    lab: str = ""
    source: str = "rig"  # "rig": CAL:INFO?; "registered": entered by the inspector

    @property
    def regulation(self) -> str:
        return {"DC": "JJG 1192-2023", "AC": "JJG 1193-2023"}.get(
            self.kind, "JJG 1192-2023 / JJG 1193-2023"
        )

    def refusal(self, pile_kind: str, day: dt.date) -> str | None:
        """Why this standard cannot verify a ``pile_kind`` pile on ``day`` (None: it can)."""
        if self.expiry < day:
            return (
                f"the rig's calibration certificate {self.certificate_no} expired on "
                f"{self.expiry.isoformat()}: have the rig re-verified before using it"
            )
        if pile_kind not in self.kind:
            need = "JJG 1192-2023 (DC)" if pile_kind == "DC" else "JJG 1193-2023 (AC)"
            return (
                f"the rig is certified for {self.kind} only; a {pile_kind} pile needs a rig "
                f"verified under {need}"
            )
        return None

    def to_json(self) -> dict[str, str]:
        return {
            "model": self.model, "serial": self.serial, "kind": self.kind,
            "accuracy": self.accuracy, "certificate_no": self.certificate_no,
            "expiry": self.expiry.isoformat(), "lab": self.lab, "source": self.source,
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReferenceStandard:
        return cls(
            data["model"], data["serial"], data["kind"], data["accuracy"],
            data["certificate_no"], dt.date.fromisoformat(data["expiry"]),
            data.get("lab", ""), data.get("source", "registered"),
        )  # fmt: skip


@dataclass(frozen=True)
class LoadPoint:
    """One working-error load point and the size of its reading windows."""

    index: int
    label: str
    voltage_v: Decimal
    current_a: Decimal
    power_w: Decimal
    target_pulses: int  # whole pulses per gated reading
    window_wh: Decimal  # the pile's energy in one reading (target_pulses / constant)
    reading_s: Decimal  # rig seconds per reading window
    derived: bool = False  # the current was derived, not marked on the nameplate


@dataclass(frozen=True)
class BudgetLine:
    key: str
    text: str
    rig_s: Decimal


@dataclass(frozen=True)
class VerificationPlan:
    pile: PileSpec
    config: VerificationConfig
    points: tuple[LoadPoint, ...]
    limit_percent: Decimal

    @property
    def regulation(self) -> str:
        return self.pile.regulation

    def budget(self) -> list[BudgetLine]:
        """Rig time per step; the inspector's own time (checklist, prompts) is extra."""
        cfg = self.config
        n = cfg.readings_per_point
        lines = [
            BudgetLine("connect", "connect, reset, self-test, configure", Decimal(5)),
            BudgetLine("insulation", "insulation resistance (MEAS:INS?)", Decimal(3)),
        ]
        lines.append(BudgetLine("conditions", "standard, environment", Decimal(0)))
        for p in self.points:
            # window + up to one pulse period waiting for the opening edge + round trips
            per = p.reading_s * (p.target_pulses + 1) / p.target_pulses + Decimal("0.5")
            lines.append(
                BudgetLine(
                    f"point{p.index}",
                    f"{p.label} {p.current_a:.1f} A: {n} × {p.window_wh / 1000:.3f} kWh",
                    per * n + Decimal(cfg.settle_ms) / 1000,
                )
            )
        lines.append(BudgetLine("off", "output off", Decimal("0.5")))
        lines.append(BudgetLine("clock", "meter clock via DL/T 645", Decimal(2)))
        if cfg.check_payment:
            lines.append(BudgetLine("payment", "meter register for payment check", Decimal(2)))
        return lines

    @property
    def total_rig_s(self) -> Decimal:
        return sum((line.rig_s for line in self.budget()), Decimal(0))

    @property
    def fits_budget(self) -> bool:
        return self.total_rig_s <= self.config.budget_s

    def fingerprint(self) -> str:
        """Identifies pile + plan so a journal is never resumed under another plan."""
        data = {
            "pile": self.pile.pile_id,
            "meter": self.pile.meter_of(self.config.connector)[0],
            "kind": self.config.kind,
            "n": self.config.readings_per_point,
            "points": [
                [p.label, str(p.voltage_v), str(p.current_a), p.target_pulses] for p in self.points
            ],
            "constant": self.pile.meter_constant,
            "payment": self.config.check_payment,
            "connector": self.config.connector,
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def plan_verification(pile: PileSpec, config: VerificationConfig | None = None) -> VerificationPlan:
    """Load points Imax, 0.5·Imax, Imin at rated voltage; gated readings of whole pulses.

    Imax and Imin come from the nameplate, else Imax = rated power / nominal
    voltage and Imin = Imax / 10; a derived current is flagged so the
    certificate prints it as derived.
    """
    config = config or VerificationConfig()
    if config.connector > pile.connectors:
        raise ValueError(
            f"pile {pile.pile_id} has {pile.connectors} gun(s), not gun {config.connector}"
        )
    limit = m.class_limit_percent(pile.accuracy_class)
    imax = pile.imax_a
    if config.imin_fraction is not None:
        imin, imin_derived = imax * Decimal(config.imin_fraction), True
    else:
        imin, imin_derived = pile.imin_a, pile.imin_derived
    points = []
    for index, (label, current, derived) in enumerate(
        (
            ("Imax", imax, pile.imax_derived),
            ("0.5Imax", imax / 2, pile.imax_derived),
            ("Imin", imin, imin_derived),
        )
    ):
        current = current.quantize(Decimal("0.001"))
        power = pile.rated_voltage_v * current * pile.drive_phases
        if power <= 0:
            raise ValueError(f"load point {label} has no power; check the pile's rating")
        pulses = m.pulses_per_reading(
            power, pile.meter_constant, min_s=config.min_reading_s, min_pulses=config.min_pulses
        )
        window_wh = m.pile_energy_wh(pulses, pile.meter_constant)
        reading_s = (window_wh * 3600 / power).quantize(Decimal("0.1"))
        points.append(
            LoadPoint(
                index,
                label,
                pile.rated_voltage_v,
                current,
                power,
                pulses,
                window_wh,
                reading_s,
                derived,
            )
        )
    return VerificationPlan(pile, config, tuple(points), limit)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Reading:
    """One reading window: what the rig latched with ``ENER:WIND?``."""

    point_index: int
    reading_index: int
    label: str
    t_ms: int
    standard_energy_wh: Decimal
    pulses: int
    pile_energy_wh: Decimal
    error_percent: Decimal
    at_ms: int
    resumed: bool = False


@dataclass(frozen=True)
class PointResult:
    point: LoadPoint
    readings: tuple[Reading, ...]
    mean_error_percent: Decimal | None
    rounded_error_percent: Decimal | None
    passed: bool | None  # None: not (fully) measured

    @property
    def error_ppm(self) -> int | None:
        return None if self.mean_error_percent is None else to_ppm(self.mean_error_percent)


@dataclass(frozen=True)
class ClockResult:
    """时钟时刻误差: meter minus Beijing time at the meter's second boundary.

    ``applicable`` is False for a pile without time-of-use billing: the clock
    is still read (for the record) but the item is not judged.
    """

    #: None when rebuilt from a signed record, which carries only the error
    #: (app.models.charging.result_record); the certificate then prints no instants.
    meter_time: dt.datetime | None
    reference_time: dt.datetime | None
    error_s: Decimal
    limit_s: Decimal
    applicable: bool = True

    @property
    def passed(self) -> bool | None:
        if not self.applicable:
            return None
        return abs(self.error_s) <= self.limit_s


@dataclass(frozen=True)
class PaymentResult:
    amount_yuan: Decimal
    energy_kwh: Decimal
    unit_price_yuan: Decimal
    error_yuan: Decimal

    @property
    def passed(self) -> bool:
        return abs(self.error_yuan) <= m.PAYMENT_STEP_YUAN


@dataclass(frozen=True)
class VerificationResult:
    """Everything the certificate and the ledger record need, rebuilt from the journal."""

    plan: VerificationPlan
    rig_identity: str
    checklist: Mapping[str, bool]
    seal_closed: bool | None
    insulation_mohm: Decimal | None
    insulation_test_v: int | None
    points: tuple[PointResult, ...]
    clock: ClockResult | None
    payment: PaymentResult | None
    verdict: str  # "pass" | "fail" | CONDITIONS_NOT_MET
    reasons: tuple[str, ...]
    started_ms: int
    finished_ms: int
    interruptions: int
    standard: ReferenceStandard | None = None
    site: SiteConditions | None = None
    short_windows: int = 0  # gated windows that ended short of their pulses (not judged)

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    @property
    def conditions_met(self) -> bool:
        return self.verdict != CONDITIONS_NOT_MET

    @property
    def connector(self) -> int:
        return self.plan.config.connector

    @property
    def insulation_passed(self) -> bool | None:
        if self.insulation_mohm is None:
            return None
        return self.insulation_mohm >= m.INSULATION_MIN_MOHM

    def readings(self) -> list[Reading]:
        return [r for p in self.points for r in p.readings]

    def valid_until(self) -> dt.date | None:
        """有效期至 after a pass: the verification cycle (default 3 years) minus a day.

        None after a fail (the pile must be repaired and verified again).  The
        supervision rotation (5–8 years) is planning's, never printed here.
        """
        if not self.passed:
            return None
        day = dt.datetime.fromtimestamp(self.finished_ms / 1000, CST).date()
        return m.certificate_valid_until(day, self.plan.config.cycle_years)

    next_due = valid_until  # the ledger field's name


@dataclass(frozen=True)
class LiveSample:
    """One stream frame for the live graphs (not journaled: the readings are)."""

    point_index: int
    reading_index: int
    run_t_s: float  # rig seconds since the first window of the run
    voltage_v: float
    current_a: float
    power_w: float
    running_error_percent: float | None
    pulses: int
    target_pulses: int


@dataclass(frozen=True)
class Progress:
    """Countdown: rig seconds left in the plan and the wall seconds that means now."""

    remaining_rig_s: float
    total_rig_s: float
    remaining_wall_s: float
    step: str


# --------------------------------------------------------------------------- journal


def _now_ms() -> int:
    return int(time.time() * 1000)


# --------------------------------------------------------------------------- procedure


@dataclass
class _State:
    """Facts of the run so far; mutated only by :meth:`VerificationProcedure._apply`."""

    started_ms: int = 0
    identity: str = ""
    checklist: dict[str, bool] | None = None
    seal_closed: bool | None = None
    insulation_mohm: Decimal | None = None
    insulation_test_v: int | None = None
    wiring: bool = False
    readings: dict[tuple[int, int], Reading] = field(default_factory=dict)
    register_before_kwh: Decimal | None = None
    register_after_kwh: Decimal | None = None
    clock: ClockResult | None = None
    payment: PaymentResult | None = None
    payment_skipped: bool = False
    interruptions: int = 0
    finished_ms: int | None = None
    standard: ReferenceStandard | None = None
    site: SiteConditions | None = None
    short_windows: int = 0


class VerificationProcedure:
    """Runs a :class:`VerificationPlan` against a :class:`Rig` (one worker thread owns both).

    Topics passed to ``emit``: ``"step"`` (str key), ``"progress"``
    (:class:`Progress`), ``"sample"`` (:class:`LiveSample`), ``"reading"``
    (:class:`Reading`), ``"point"`` (:class:`PointResult`), ``"insulation"``
    (Decimal MΩ), ``"clock"`` (:class:`ClockResult`), ``"paused"`` (str),
    ``"resumed"`` (str identity), ``"log"`` (str), ``"result"``
    (:class:`VerificationResult`).
    """

    def __init__(
        self,
        rig: Rig,
        plan: VerificationPlan,
        journal: Journal | Path | str,
        *,
        prompt: InspectorPrompt,
        reconnect: Reconnector | None = None,
        emit: Emit | None = None,
        should_stop: Callable[[], bool] | None = None,
        reference_clock: Callable[[], dt.datetime] = beijing_now,
        poll_s: float = 0.01,
        site: SiteConditions | None = None,
        standard: ReferenceStandard | None = None,
    ) -> None:
        """``site``: ambient conditions and seal number as the inspector entered them;
        ``standard``: the rig's certificate as registered by hand, used when the rig
        does not report it (``CAL:INFO?``)."""
        self.site = site
        self.registered_standard = standard
        self.rig = rig
        self.plan = plan
        self.journal = journal if isinstance(journal, Journal) else Journal(journal)
        self.prompt = prompt
        self.reconnect = reconnect
        self._emit = emit or (lambda topic, payload: None)
        self.should_stop = should_stop or (lambda: False)
        self.reference_clock = reference_clock
        self.poll_s = poll_s
        self.state = _State()
        self._live_window: tuple[int, int, Decimal, Decimal] | None = None
        self._window_start_ms = 0  # rig clock at the live window's ENER:CLE
        self._run_t0_ms: int | None = None
        self._speed = 1.0  # rig seconds per wall second, measured from the stream
        self._step = ""
        #: Stream health, summed over every reading window (for the bench).
        self.frames_received = 0
        self.frames_dropped = 0
        self.frames_garbled = 0
        self.frames_sent = 0

    # ------------------------------------------------------------- journal + state

    def _record(self, event: dict[str, Any]) -> None:
        """Persist first, then update state: nothing is shown that is not on disk."""
        event = {"at_ms": _now_ms(), **event}
        self.journal.append(event)
        self._apply(event)

    def _apply(self, ev: Mapping[str, Any]) -> None:
        st = self.state
        kind = ev["e"]
        if kind == "start":
            st.started_ms = ev["at_ms"]
        elif kind == "rig":
            st.identity = ev["identity"]
        elif kind == "standard":
            st.standard = ReferenceStandard.from_json(ev["standard"])
        elif kind == "site":
            st.site = SiteConditions(Decimal(ev["temperature_c"]), Decimal(ev["humidity_pct"]),
                                     ev.get("seal_no", ""))  # fmt: skip
        elif kind == "short_window":
            st.short_windows += 1
        elif kind == "checklist":
            st.checklist = dict(ev["answers"])
        elif kind == "seal":
            st.seal_closed = ev["closed"]
        elif kind == "insulation":
            st.insulation_mohm = Decimal(ev["mohm"])
            st.insulation_test_v = ev["test_v"]
        elif kind == "wiring":
            st.wiring = True
        elif kind == "reading":
            reading = Reading(
                point_index=ev["point"],
                reading_index=ev["reading"],
                label=ev["label"],
                t_ms=ev["t_ms"],
                standard_energy_wh=Decimal(ev["std_wh"]),
                pulses=ev["pulses"],
                pile_energy_wh=Decimal(ev["pile_wh"]),
                error_percent=Decimal(ev["error"]),
                at_ms=ev["at_ms"],
                resumed=ev.get("resumed", False),
            )
            st.readings[(reading.point_index, reading.reading_index)] = reading
        elif kind == "register":
            if ev["when"] == "before":
                st.register_before_kwh = Decimal(ev["kwh"])
            else:
                st.register_after_kwh = Decimal(ev["kwh"])
        elif kind == "clock":
            st.clock = ClockResult(
                dt.datetime.fromisoformat(ev["meter"]),
                dt.datetime.fromisoformat(ev["reference"]),
                Decimal(ev["error_s"]),
                Decimal(ev["limit_s"]),
                ev.get("applicable", True),
            )
        elif kind == "payment":
            if ev.get("skipped"):
                st.payment_skipped = True
            else:
                st.payment = PaymentResult(
                    Decimal(ev["amount"]),
                    Decimal(ev["energy_kwh"]),
                    Decimal(ev["price"]),
                    Decimal(ev["error"]),
                )
        elif kind == "interrupted":
            st.interruptions += 1
        elif kind == "done":
            st.finished_ms = ev["at_ms"]

    def _load_journal(self) -> None:
        events = self.journal.load()
        if events:
            head = events[0]
            if head.get("e") != "start" or head.get("plan") != self.plan.fingerprint():
                raise JournalMismatch(
                    f"journal {self.journal.path} belongs to pile {head.get('pile_id')!r} "
                    "with another plan; start a new journal"
                )
            for ev in events:
                self._apply(ev)
            self._emit("log", f"resuming from journal: {len(self.state.readings)} reading(s) kept")
        else:
            self._record({"e": "start", "pile_id": self.plan.pile.pile_id,
                          "plan": self.plan.fingerprint()})  # fmt: skip

    # ------------------------------------------------------------- helpers

    def _check_stop(self) -> None:
        if self.should_stop():
            raise VerificationAborted("stopped by the inspector")

    def _set_step(self, step: str) -> None:
        self._step = step
        self._emit("step", step)
        self._emit_progress()

    def _remaining_rig_s(self, current_fraction: float = 0.0) -> float:
        plan = self.plan
        n = plan.config.readings_per_point
        remaining = 0.0
        for line in plan.budget():
            if line.key.startswith("point"):
                index = int(line.key[5:])
                point = plan.points[index]
                left = sum(1 for j in range(n) if (index, j) not in self.state.readings)
                remaining += left * (float(point.reading_s) + 0.5)
            elif line.key not in self._done_steps():
                remaining += float(line.rig_s)
        if self._live_window is not None:
            point = plan.points[self._live_window[0]]
            remaining -= float(point.reading_s) * min(current_fraction, 1.0)
        return max(remaining, 0.0)

    def _done_steps(self) -> set[str]:
        st = self.state
        done = set()
        if st.identity:
            done.add("connect")
        if st.insulation_mohm is not None:
            done.add("insulation")
        if st.clock is not None:
            done.update(("clock", "off"))
        if st.payment is not None or st.payment_skipped:
            done.add("payment")
        return done

    def _emit_progress(self, current_fraction: float = 0.0) -> None:
        rig_s = self._remaining_rig_s(current_fraction)
        self._emit(
            "progress",
            Progress(
                rig_s, float(self.plan.total_rig_s), rig_s / max(self._speed, 1e-6), self._step
            ),
        )

    def _guarded(self, step: Callable[[], None]) -> None:
        """Run ``step``; on unplug, pause, reconnect to the new port and run it again.

        Steps are written to be re-entered: they skip what the journal already
        holds, and a reading whose window survived on the rig continues it.
        """
        while True:
            self._check_stop()
            try:
                step()
                return
            except DeviceDisconnected as exc:
                self._record({"e": "interrupted", "reason": str(exc), "step": self._step})
                self._emit("paused", str(exc))
                self._reconnect(exc)

    def _reconnect(self, exc: DeviceDisconnected) -> None:
        if self.reconnect is None:
            raise exc
        while True:
            self._check_stop()
            path = self.reconnect(exc)
            if path is None:
                raise VerificationAborted("rig not reconnected") from exc
            try:
                identity = str(self.rig.reconnect(path))
            except (DeviceDisconnected, NotARig, RigTimeout) as again:
                self._emit("log", f"reconnect on {path} failed: {again}")
                exc = again if isinstance(again, DeviceDisconnected) else exc
                continue
            if self.state.identity and identity != self.state.identity:
                # Another rig is another standard: readings must not be mixed.
                self._emit("log", f"{path} is a different rig ({identity}); plug the first one")
                self.rig.close()
                continue
            self._record({"e": "reconnected", "path": path})
            self._emit("resumed", identity)
            return

    # ------------------------------------------------------------- steps

    def _connect(self) -> None:
        if not self.rig.port.is_open:
            identity = str(self.rig.connect())
        else:
            identity = str(self.rig.identity or self.rig.identify())
        if self.state.identity and identity != self.state.identity:
            raise JournalMismatch(
                f"the journal was measured with rig {self.state.identity}, this is {identity}"
            )
        if not self.state.identity:
            self._record({"e": "rig", "identity": identity})
        self._set_step("connect")
        self._check_standard(identity)
        # *RST also switches the sources off; a fresh procedure never trusts a window
        # left running by an earlier (crashed) session, it measures that reading again.
        self.rig.reset()
        code = self.rig.self_test()
        if code != 0:
            raise DeviceError(f"rig self-test failed with code {code}: service the rig")
        pile = self.plan.pile
        self.rig.set_mode(SourceMode(pile.kind))
        if pile.kind == "AC":
            self.rig.set_phases(pile.drive_phases)
        self.rig.set_meter_constant(pile.meter_constant)
        self.rig.set_meter_port(baud=pile.meter_baud)
        self._run_t0_ms = self.rig.rig_time_ms()

    def _check_standard(self, identity: str) -> None:
        """Refuse to start with a rig that is not a valid reference standard for this pile."""
        standard = self.state.standard
        if standard is None:
            reported = self.rig.calibration()
            parts = identity.split(",")
            model = parts[1] if len(parts) == 4 else identity
            serial = parts[2] if len(parts) == 4 else ""
            if reported is not None:
                try:
                    expiry = dt.date.fromisoformat(reported.expiry)
                except ValueError:
                    raise StandardNotTraceable(
                        f"the rig reports an unreadable certificate expiry {reported.expiry!r}"
                    ) from None
                standard = ReferenceStandard(model, serial, reported.kind, reported.accuracy,
                                             reported.certificate_no, expiry, reported.lab,
                                             "rig")  # fmt: skip
            elif self.registered_standard is not None:
                reg = self.registered_standard
                if reg.serial and serial and reg.serial != serial:
                    raise StandardNotTraceable(
                        f"the registered certificate is for rig {reg.serial}, this rig is {serial}"
                    )
                standard = reg
            else:
                raise StandardNotTraceable(
                    f"rig {identity} does not report its calibration certificate: register its "
                    "model, serial, class, certificate number and expiry before verifying"
                )
        today = dt.datetime.fromtimestamp(_now_ms() / 1000, CST).date()
        refusal = standard.refusal(self.plan.pile.kind, today)
        if refusal is not None:
            raise StandardNotTraceable(refusal)
        if self.state.standard is None:
            self._record({"e": "standard", "standard": standard.to_json()})

    def _site(self) -> None:
        if self.state.site is not None or self.site is None:
            return
        self._record({"e": "site", "temperature_c": str(self.site.temperature_c),
                      "humidity_pct": str(self.site.humidity_pct),
                      "seal_no": self.site.seal_no})  # fmt: skip

    def conditions_problems(self) -> list[str]:
        """Why the verification conditions are not met (empty: they are)."""
        st = self.state
        out = []
        if st.site is None:
            out.append("ambient temperature and humidity not recorded")
        else:
            out += st.site.problems(self.plan.config)
        if st.insulation_mohm is not None and st.insulation_mohm < m.INSULATION_MIN_MOHM:
            out.append(
                f"insulation resistance {st.insulation_mohm} MΩ below {m.INSULATION_MIN_MOHM} MΩ"
            )
        return out

    def _checklist(self) -> None:
        if self.state.checklist is not None:
            return
        self._set_step("checklist")
        answers = self.prompt.checklist(CHECKLIST)
        answers = {item.key: bool(answers.get(item.key, False)) for item in CHECKLIST}
        self._record({"e": "checklist", "answers": answers})

    def _seal_and_insulation(self) -> None:
        if self.state.seal_closed is None:
            self._set_step("seal")
            closed = self.rig.seal_state().value == "CLOSED"
            self._record({"e": "seal", "closed": closed})
        if self.state.insulation_mohm is not None:
            return
        self._set_step("insulation")
        self.rig.set_output(False)
        test_v = self.plan.config.insulation_test_v or (
            1000 if self.plan.pile.kind == "DC" else 500
        )
        mohm = self.rig.insulation_resistance(test_v)
        self._record({"e": "insulation", "mohm": str(mohm), "test_v": test_v})
        self._emit("insulation", mohm)

    def _wiring(self) -> None:
        if self.state.wiring:
            return
        self._set_step("wiring")
        if not self.prompt.confirm(Q_WIRING):
            raise VerificationAborted("the inspector did not confirm the wiring")
        self._record({"e": "wiring"})

    def _register(self, when: str) -> None:
        already = (
            self.state.register_before_kwh if when == "before" else self.state.register_after_kwh
        )
        if already is not None:
            return
        kwh = self._meter().read_energy()
        self._record({"e": "register", "when": when, "kwh": str(kwh)})

    def _meter(self) -> Dlt645Meter:
        address = self.plan.pile.meter_of(self.plan.config.connector)[1]
        return Dlt645Meter(self.rig.meter_link(), address)

    def _points(self) -> None:
        n = self.plan.config.readings_per_point
        for point in self.plan.points:
            if all((point.index, j) in self.state.readings for j in range(n)):
                continue
            self._set_step(f"point{point.index}")
            for j in range(n):
                if (point.index, j) not in self.state.readings:
                    self._take_reading(point, j)
            self._emit("point", self._point_result(point))

    def _window_survived(self, point: LoadPoint) -> bool:
        """After a reconnect: is the rig still gating this point's reading?"""
        if not (
            self.rig.output_enabled()
            and self.rig.voltage_setpoint() == point.voltage_v
            and self.rig.current_setpoint() == point.current_a
        ):
            return False
        gate = self.rig.gate()
        return gate.target_pulses == point.target_pulses and gate.state.value in (
            "ARM", "RUN", "DONE",
        )  # fmt: skip

    def _take_reading(self, point: LoadPoint, j: int) -> None:
        """One gated reading; a window that ends short of its pulses is journaled and retaken."""
        cfg = self.plan.config
        for _attempt in range(cfg.short_window_retries + 1):
            if self._gated_window(point, j):
                return
        raise VerificationAborted(
            f"{point.label}: {cfg.short_window_retries + 1} windows ended short of their "
            f"{point.target_pulses} pulses (is the pulse lead on the meter's pulse output?)"
        )

    def _gated_window(self, point: LoadPoint, j: int) -> bool:
        rig = self.rig
        resumed = False
        live = self._live_window
        if live is not None and live[:2] == (point.index, j) and self._window_survived(point):
            resumed = True
            self._record({"e": "window_resumed", "point": point.index, "reading": j})
        else:
            rig.set_voltage(point.voltage_v)
            rig.set_current(point.current_a)
            if not rig.output_enabled():
                rig.set_output(True)
            self._wait_rig_ms(self.plan.config.settle_ms)
            rig.clear_energy()
            rig.arm_gate(point.target_pulses)
            window_start = rig.rig_time_ms()
            self._live_window = (point.index, j, point.voltage_v, point.current_a)
            self._window_start_ms = window_start
            self._record({"e": "window", "point": point.index, "reading": j,
                          "rig_ms": window_start, "pulses": point.target_pulses})  # fmt: skip
        cfg = self.plan.config
        # The window opens on the first edge after ENER:CLE + arming and closes N edges
        # later: N + 1 pulses since ENER:CLE.  Timed out on the rig's clock.
        closing = point.target_pulses + 1
        timeout_ms = int(point.reading_s * 1000) * cfg.window_timeout_factor + 30_000
        t0 = self._run_t0_ms or 0
        wall0 = time.monotonic()
        first_t: int | None = None
        gate = None
        with rig.start_stream(cfg.stream_hz) as stream:
            try:
                for frame in stream:
                    self._check_stop()
                    if first_t is None:
                        first_t = frame.t_ms
                    elapsed_wall = time.monotonic() - wall0
                    if elapsed_wall > 0.2 and frame.t_ms > first_t:
                        self._speed = (frame.t_ms - first_t) / 1000 / elapsed_wall
                    running = None
                    # Below 10 pulses the running (ungated) error is meaningless.
                    if frame.pulses >= 10 and frame.standard_energy_wh > 0:
                        pile_wh = m.pile_energy_wh(frame.pulses, self.plan.pile.meter_constant)
                        running = float(m.error_percent(pile_wh, frame.standard_energy_wh))
                    self._emit(
                        "sample",
                        LiveSample(
                            point.index,
                            j,
                            (self._window_start_ms - t0 + frame.t_ms) / 1000,
                            float(frame.voltage_v),
                            float(frame.current_a),
                            float(frame.power_w),
                            running,
                            frame.pulses,
                            point.target_pulses,
                        ),
                    )
                    self._emit_progress(frame.pulses / closing)
                    if frame.pulses >= closing or frame.t_ms > timeout_ms:
                        gate = rig.gate()
                        if gate.state.value != "RUN" or frame.t_ms > timeout_ms:
                            break
                if gate is None or gate.state.value == "RUN":
                    gate = rig.gate()
            finally:
                self.frames_received += stream.frames
                self.frames_dropped += stream.dropped
                self.frames_garbled += stream.garbled
                if stream.last_seq is not None:
                    self.frames_sent += stream.last_seq + 1
        self._live_window = None
        constant = self.plan.pile.meter_constant
        error = gate.error_percent(constant)
        if error is None:
            # Ended short of its pulses (aborted, timed out): journaled, never judged.
            self._record({"e": "short_window", "point": point.index, "reading": j,
                          "state": gate.state.value, "pulses": gate.pulses,
                          "target": gate.target_pulses, "t_ms": gate.t_ms,
                          "std_wh": str(gate.standard_energy_wh)})  # fmt: skip
            self._emit(
                "log",
                f"{point.label}: window ended after {gate.pulses} of {gate.target_pulses} "
                "pulses; not judged, measuring again",
            )
            return False
        self._record(
            {
                "e": "reading",
                "point": point.index,
                "reading": j,
                "label": point.label,
                "t_ms": gate.t_ms,
                "std_wh": str(gate.standard_energy_wh),
                "pulses": gate.pulses,
                "pile_wh": str(gate.pile_energy_wh(constant)),
                "error": str(error.quantize(Decimal("0.0001"))),
                "resumed": resumed,
                "gated": True,
            }
        )
        self._emit("reading", self.state.readings[(point.index, j)])
        return True

    def _wait_rig_ms(self, ms: int) -> None:
        """Wait ``ms`` on the rig's clock (settling), polling ``SYST:TIME?``."""
        until = self.rig.rig_time_ms() + ms
        while self.rig.rig_time_ms() < until:
            self._check_stop()
            time.sleep(self.poll_s)

    def _output_off(self) -> None:
        self._set_step("off")
        self.rig.set_output(False)

    def _clock(self) -> None:
        if self.state.clock is not None:
            return
        self._set_step("clock")
        meter_time, reference = self._meter_second_boundary()
        error_s = Decimal(str(round((meter_time - reference).total_seconds(), 3)))
        limit = m.clock_limit_s(self.plan.config.kind)
        self._record(
            {
                "e": "clock",
                "meter": meter_time.isoformat(),
                "reference": reference.isoformat(timespec="milliseconds"),
                "error_s": str(error_s),
                "limit_s": str(limit),
                "applicable": self.plan.pile.time_of_use,
            }
        )
        assert self.state.clock is not None
        self._emit("clock", self.state.clock)

    def _meter_second_boundary(self) -> tuple[dt.datetime, dt.datetime]:
        return read_meter_clock(self._meter(), self.reference_clock, self._check_stop)

    def _payment(self) -> None:
        st = self.state
        if st.payment is not None or st.payment_skipped:
            return
        self._set_step("payment")
        self._register("after")
        price = self.plan.pile.unit_price_yuan
        amount = self.prompt.ask_number(Q_AMOUNT)
        if amount is None or price is None or st.register_before_kwh is None:
            self._record({"e": "payment", "skipped": True})
            return
        assert st.register_after_kwh is not None
        energy = st.register_after_kwh - st.register_before_kwh
        error = m.payment_error_yuan(amount, energy, price)
        self._record({"e": "payment", "amount": str(amount), "energy_kwh": str(energy),
                      "price": str(price), "error": str(error)})  # fmt: skip

    # ------------------------------------------------------------- run

    def run(self) -> VerificationResult:
        """startup → execute → shutdown; returns the result (also emitted as "result")."""
        try:
            result = self.execute()
        finally:
            self.shutdown()
        self._emit("result", result)
        return result

    def execute(self) -> VerificationResult:
        self._load_journal()
        if self.state.finished_ms is not None:
            return self.result()
        # Conditions first: a traceable standard (refuses to start otherwise), the
        # environment, the insulation.  Then the items in the regulation's order.
        self._guarded(self._connect)
        self._site()
        self._guarded(self._seal_and_insulation)
        assert self.state.insulation_mohm is not None
        problems = self.conditions_problems()
        if problems:
            self._emit("log", "不满足检定条件 / conditions not met: " + "; ".join(problems))
        else:
            self._checklist()
            self._wiring()
            if self.plan.config.check_payment:
                self._guarded(lambda: self._register("before"))
            self._guarded(self._points)
            self._guarded(self._output_off)
            self._guarded(self._clock)
            if self.plan.config.check_payment:
                self._guarded(self._payment)
        result = self.result(finished=True)
        self._record({"e": "done", "verdict": result.verdict})
        self._set_step("done")
        return self.result()

    def shutdown(self) -> None:
        """Leave the rig safe: sources off (best effort — the port may be gone)."""
        if self.rig.port.is_open:
            with contextlib.suppress(DeviceError, OSError):
                self.rig.stop_stream()
            with contextlib.suppress(DeviceError, OSError):
                self.rig.set_output(False)

    # ------------------------------------------------------------- result

    def _point_result(self, point: LoadPoint) -> PointResult:
        n = self.plan.config.readings_per_point
        readings = tuple(
            self.state.readings[(point.index, j)]
            for j in range(n)
            if (point.index, j) in self.state.readings
        )
        if len(readings) < n:
            return PointResult(point, readings, None, None, None)
        mean = m.mean([r.error_percent for r in readings])
        rounded = round_to_step(mean, m.rounding_step(self.plan.limit_percent))
        return PointResult(point, readings, mean, rounded, abs(rounded) <= self.plan.limit_percent)

    def result(self, *, finished: bool = False) -> VerificationResult:
        st = self.state
        points = tuple(self._point_result(p) for p in self.plan.points)
        reasons: list[str] = []
        problems = self.conditions_problems()
        if st.insulation_mohm is None:
            problems.append("insulation resistance not measured")
        if problems:
            verdict = CONDITIONS_NOT_MET
            reasons = problems
        else:
            if st.checklist is None or not all(st.checklist.values()):
                failed = sorted(k for k, ok in (st.checklist or {}).items() if not ok)
                reasons.append("checklist: " + (", ".join(failed) or "not done"))
            for p in points:
                if p.passed is None:
                    reasons.append(f"{p.point.label}: not measured")
                elif not p.passed:
                    reasons.append(f"{p.point.label}: error {p.rounded_error_percent}% over limit")
            if st.clock is None:
                reasons.append("clock: not read")
            elif st.clock.passed is False:
                reasons.append(f"clock: error {st.clock.error_s} s over {st.clock.limit_s} s")
            if st.payment is not None and not st.payment.passed:
                reasons.append(
                    f"payment (optional JJG 1149-2018 check): error {st.payment.error_yuan} yuan"
                )
            verdict = "fail" if reasons else "pass"
        finished_ms = st.finished_ms or (_now_ms() if finished else 0)
        return VerificationResult(
            plan=self.plan,
            rig_identity=st.identity,
            checklist=dict(st.checklist or {}),
            seal_closed=st.seal_closed,
            insulation_mohm=st.insulation_mohm,
            insulation_test_v=st.insulation_test_v,
            points=points,
            clock=st.clock,
            payment=st.payment,
            verdict=verdict,
            reasons=tuple(reasons),
            started_ms=st.started_ms,
            finished_ms=finished_ms,
            interruptions=st.interruptions,
            standard=st.standard,
            site=st.site,
            short_windows=st.short_windows,
        )


def read_meter_clock(
    meter: Dlt645Meter,
    reference_clock: Callable[[], dt.datetime] | None = None,
    check_stop: Callable[[], None] = lambda: None,
    timeout_s: float = 5.0,
) -> tuple[dt.datetime, dt.datetime]:
    """(meter time, Beijing time) at the instant the meter's clock ticks a second.

    Why: DL/T 645 gives the meter's time in whole seconds, so comparing one
    read with a millisecond reference is biased by −0.5 s on average.  The
    meter is read repeatedly; between the last read showing second s and the
    first showing s + 1 its clock ticked.  That tick happened after the
    earlier read was sent and before the later reply came, so the midpoint of
    those two reference instants estimates it without bias (the bound is half
    of the two reads' span: a few tens of ms through the rig).
    """
    reference_clock = reference_clock or beijing_now
    prev: tuple[dt.datetime, dt.datetime] | None = None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        check_stop()
        before = reference_clock()
        shown = meter.read_datetime()
        after = reference_clock()
        if prev is not None and shown - prev[0] == dt.timedelta(seconds=1):
            return shown, prev[1] + (after - prev[1]) / 2
        prev = (shown, before)  # the latest read showing this second (a jump restarts)
    raise DeviceError(
        f"the meter's clock did not advance within {timeout_s:g} s: its clock cannot be verified"
    )


def journal_readings(path: Path | str) -> list[dict[str, Any]]:
    """The reading events of a journal (for audits and tests)."""
    return [ev for ev in Journal(path).load() if ev.get("e") == "reading"]


# --------------------------------------------------------------------------- signed result

#: next_due of a failed verification: no due date, the pile must not be used until
#: repaired and verified again (the ledger field is required and non-empty).
NO_DUE_DATE = "none"


def verification_id(result: VerificationResult) -> str:
    """Stable ID of one run (pile + finish time): signing twice never makes two results."""
    when = dt.datetime.fromtimestamp(result.finished_ms / 1000, CST)
    return f"V-{result.plan.pile.pile_id}-{when:%Y%m%d%H%M%S}"


def certificate_number(result: VerificationResult, prefix: str = "HZJL") -> str:
    """Certificate (pass) or notice (fail) number, derived from the verification ID."""
    digest = hashlib.sha256(verification_id(result).encode()).hexdigest()[:6].upper()
    when = dt.datetime.fromtimestamp(result.finished_ms / 1000, CST)
    kind = "JD" if result.passed else "TZ"  # 检定证书 / 检定结果通知书
    return f"{prefix}{kind}{when:%Y%m%d}-{digest}"


def record_body(
    result: VerificationResult, *, inspector_id: str, certificate_no: str | None = None
) -> dict[str, Any]:
    """The ledger "verification" body (integer units only: ppm, mA, mV, ms, kΩ, mWh)."""
    pile = result.plan.pile
    if not result.conditions_met:
        raise ValueError(
            "不满足检定条件: the verification conditions were not met ("
            + "; ".join(result.reasons)
            + "), nothing was verified, so there is no result to sign"
        )
    if result.clock is None or result.insulation_mohm is None:
        raise ValueError("the run has no clock or insulation result; it cannot be signed")
    points = []
    for p in result.points:
        if p.mean_error_percent is None:
            continue
        points.append(
            {
                "label": p.point.label,
                "voltage_mv": int(p.point.voltage_v * 1000),
                "current_ma": int(p.point.current_a * 1000),
                "error_ppm": to_ppm(p.mean_error_percent),
                "result": "pass" if p.passed else "fail",
                "derived": p.point.derived,
                "readings": [
                    {
                        "error_ppm": to_ppm(r.error_percent),
                        "pulses": r.pulses,
                        "std_mwh": int(r.standard_energy_wh * 1000),
                        "t_ms": r.t_ms,
                    }
                    for r in p.readings
                ],
            }
        )
    due = result.next_due()
    extra: dict[str, Any] = {"connector": result.connector, "clock_judged": result.clock.applicable}
    if result.standard is not None:
        extra["standard"] = {
            **result.standard.to_json(),
            "identity": result.rig_identity,
            "approval_certificate_no": result.plan.config.approval_certificate_no,
        }
    if result.site is not None:
        extra["conditions"] = {
            "temperature_dc": int((result.site.temperature_c * 10).to_integral_value()),
            "humidity_pct": int(result.site.humidity_pct.to_integral_value()),
            "seal_no": result.site.seal_no,
        }
    return {
        **extra,
        "verification_id": verification_id(result),
        "pile_id": pile.pile_id,
        "meter_id": pile.meter_of(result.connector)[0],
        "inspector_id": inspector_id,
        "at_ms": result.finished_ms,
        "kind": result.plan.config.kind,
        "regulation": result.plan.regulation,
        "points": points,
        "clock_error_ms": int(result.clock.error_s * 1000),
        "insulation_kohm": int(result.insulation_mohm * 1000),
        "result": result.verdict,
        "certificate_no": certificate_no or certificate_number(result),
        "next_due": due.isoformat() if due else NO_DUE_DATE,
        "seal_closed": bool(result.seal_closed),
        "accuracy_class": pile.accuracy_class,
    }


def sign_result(
    result: VerificationResult,
    key: SigningKey,
    *,
    inspector_id: str,
    certificate_no: str | None = None,
) -> Record:
    """The inspector's signed "verification" record, ready for the outbox."""
    body = record_body(result, inspector_id=inspector_id, certificate_no=certificate_no)
    return sign_record("verification", body, key)
