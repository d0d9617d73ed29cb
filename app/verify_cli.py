"""``python main.py verify``: one gun of one pile verified headless, for labs and automation.

    python main.py verify --rig /dev/ttyACM0 --pile HZ-P000123 [--connector N]
                          [--kind first|subsequent] --out RESULT.json

The pile's nameplate comes from ``--pile-file`` (JSON with PileSpec's fields) or
from flags; what the inspector would answer in the wizard comes from
``--answers FILE`` (JSON: ``checklist`` {key: bool}, ``temperature_c``,
``humidity_pct``, ``seal_no``, ``wiring``) or from flags.  Prints the verdict and
each load point's mean, rounded error and limit; writes the whole result as JSON.

Exit status: 0 pass, 1 fail, 3 verification conditions not met (不满足检定条件),
2 refused to start (usage, rig not traceable, journal of another plan).
Runs headless on a server with a rig on USB; Qt is loaded only for ``--certificate`` (fonts).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.devices.errors import DeviceError
from app.models.charging.verification import (
    CHECKLIST,
    AutoPrompt,
    JournalMismatch,
    PileSpec,
    ReferenceStandard,
    SiteConditions,
    StandardNotTraceable,
    VerificationAborted,
    VerificationConfig,
    VerificationProcedure,
    VerificationResult,
    plan_verification,
)
from app.models.store import StoreError

__all__ = ["main", "result_json"]

EXIT = {"pass": 0, "fail": 1, "conditions_not_met": 3}
KINDS = {"first": "first", "subsequent": "periodic", "periodic": "periodic",
         "triggered": "triggered"}  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python main.py verify",
        description="Verify one gun of a charging pile with the virtual-load rig (JJG 1148/"
        "1149-2022) and write the result as JSON.",
    )
    p.add_argument("--rig", required=True, metavar="PORT", help="the rig's serial port (pty)")
    p.add_argument("--pile", required=True, metavar="ID", help="pile ID (as in the registry)")
    p.add_argument("--connector", type=int, default=1, metavar="N", help="gun to verify (1…)")
    p.add_argument("--kind", choices=sorted(KINDS), default="first")
    p.add_argument("--out", required=True, type=Path, metavar="RESULT.json")
    p.add_argument("--journal", type=Path, default=None, help="journal (default: OUT.jsonl)")
    p.add_argument("--certificate", type=Path, default=None, metavar="PDF",
                   help="also print the certificate/notice (a draft)")  # fmt: skip
    g = p.add_argument_group("nameplate (or --pile-file)")
    g.add_argument("--pile-file", type=Path, default=None, metavar="PILE.json")
    g.add_argument("--type", dest="pile_kind", choices=("DC", "AC"), default="DC")
    g.add_argument("--power-kw", type=Decimal, default=Decimal(120))
    g.add_argument("--voltage", type=Decimal, default=Decimal(750))
    g.add_argument("--phases", type=int, default=1)
    g.add_argument("--imax", type=Decimal, default=None, help="marked Imax, A (else derived)")
    g.add_argument("--imin", type=Decimal, default=None, help="marked Imin, A (else Imax/10)")
    g.add_argument("--class", dest="accuracy_class", choices=("0.5", "1", "2"), default="1")
    g.add_argument("--constant", type=int, default=1000, metavar="IMP_PER_KWH")
    g.add_argument("--connectors", type=int, default=1)
    g.add_argument("--meter-id", default="")
    g.add_argument("--meter-address", default="AAAAAAAAAAAA")
    g.add_argument("--no-time-of-use", action="store_true",
                   help="no 分时计费: the clock is read but not judged")  # fmt: skip
    a = p.add_argument_group("the inspector's answers (or --answers)")
    a.add_argument("--answers", type=Path, default=None, metavar="FILE.json")
    a.add_argument("--temperature", type=Decimal, default=None, metavar="C")
    a.add_argument("--humidity", type=Decimal, default=None, metavar="PCT")
    a.add_argument("--seal-no", default="")
    a.add_argument("--fail-check", action="append", default=[], metavar="KEY",
                   choices=[item.key for item in CHECKLIST],
                   help="a check that does not conform (repeatable)")  # fmt: skip
    a.add_argument("--yes", action="store_true", help="confirm the wiring without asking")
    s = p.add_argument_group("the rig's certificate, when the rig does not report it")
    s.add_argument("--rig-cert", default=None, metavar="NO")
    s.add_argument("--rig-expiry", default=None, metavar="YYYY-MM-DD")
    s.add_argument("--rig-kind", choices=("DC", "AC", "ACDC"), default=None)
    s.add_argument("--rig-class", default="0.05")
    s.add_argument("--rig-model", default="")
    s.add_argument("--rig-serial", default="")
    s.add_argument("--rig-lab", default="")
    o = p.add_argument_group("the verifying body")
    o.add_argument("--approval-cert", "--approval-no", dest="approval_no", default=None,
                   metavar="NO", help="计量标准考核证书 number (default: the office setting "
                   "in the store)")  # fmt: skip
    o.add_argument("--db", default=None, metavar="URL",
                   help="the workstation store to read the office setting from (default: "
                   "$EVM_DB_URL or the local SQLite file, when it exists)")  # fmt: skip
    o.add_argument("--cycle-years", type=int, default=3, help="verification cycle (有效期)")
    return p


def approval_number(args: argparse.Namespace) -> str:
    """--approval-cert, else the office's setting in the store (none: "", printed "—").

    The default store is read only when it exists: a lab without a workstation store
    gets no SQLite file created by a verification.
    """
    if args.approval_no is not None:
        return str(args.approval_no).strip()
    from app.models import store as st
    from app.models.office_settings import approval_certificate_no

    url = args.db or st.default_url()
    if args.db is None and url.startswith("sqlite:///") and not Path(url[10:]).exists():
        return ""
    with st.Store.open(url) as store, store.engine.connect() as conn:
        return approval_certificate_no(conn)


def _pile(args: argparse.Namespace) -> PileSpec:
    if args.pile_file is not None:
        data = json.loads(args.pile_file.read_text(encoding="utf-8"))
        for name in ("rated_voltage_v", "max_current_a", "min_current_a", "unit_price_yuan"):
            if data.get(name) is not None:
                data[name] = Decimal(str(data[name]))
        data.setdefault("pile_id", args.pile)
        if data["pile_id"] != args.pile:
            raise SystemExit(f"--pile {args.pile} but {args.pile_file} describes {data['pile_id']}")
        data.setdefault("meter_id", data["pile_id"])
        return PileSpec(**data)
    return PileSpec(
        pile_id=args.pile,
        meter_id=args.meter_id or args.pile,
        kind=args.pile_kind,
        rated_power_w=int(args.power_kw * 1000),
        rated_voltage_v=args.voltage,
        max_current_a=args.imax,
        min_current_a=args.imin,
        accuracy_class=args.accuracy_class,
        meter_constant=args.constant,
        phases=args.phases,
        meter_address=args.meter_address,
        connectors=args.connectors,
        time_of_use=not args.no_time_of_use,
    )


def _answers(args: argparse.Namespace) -> tuple[AutoPrompt, SiteConditions | None]:
    data: dict[str, Any] = {}
    if args.answers is not None:
        data = json.loads(args.answers.read_text(encoding="utf-8"))
    checklist = data.get("checklist", {})
    failing = {key for key, ok in checklist.items() if not ok} | set(args.fail_check)
    unknown = set(checklist) - {item.key for item in CHECKLIST}
    if unknown:
        raise SystemExit(f"unknown checklist item(s) in {args.answers}: {sorted(unknown)}")
    wiring = bool(data.get("wiring", False)) or args.yes
    temperature = args.temperature if args.temperature is not None else data.get("temperature_c")
    humidity = args.humidity if args.humidity is not None else data.get("humidity_pct")
    site = None
    if temperature is not None and humidity is not None:
        site = SiteConditions(Decimal(str(temperature)), Decimal(str(humidity)),
                              args.seal_no or data.get("seal_no", ""))  # fmt: skip
    return AutoPrompt(failing=frozenset(failing), confirm_answer=wiring), site


def _standard(args: argparse.Namespace) -> ReferenceStandard | None:
    if args.rig_cert is None and args.rig_expiry is None:
        return None
    if not (args.rig_cert and args.rig_expiry and args.rig_kind):
        raise SystemExit("registering the rig needs --rig-cert, --rig-expiry and --rig-kind")
    return ReferenceStandard(args.rig_model, args.rig_serial, args.rig_kind, args.rig_class,
                             args.rig_cert, dt.date.fromisoformat(args.rig_expiry), args.rig_lab,
                             "registered")  # fmt: skip


def result_json(result: VerificationResult) -> dict[str, Any]:
    """The result as plain JSON (decimals as strings, so nothing is rounded by a float)."""
    plan = result.plan
    clock = result.clock
    due = result.valid_until()
    return {
        "pile_id": plan.pile.pile_id,
        "connector": result.connector,
        "regulation": plan.regulation,
        "kind": plan.config.kind,
        "verdict": result.verdict,
        "reasons": list(result.reasons),
        "valid_until": due.isoformat() if due else None,
        "rig": result.rig_identity,
        "standard": None if result.standard is None else result.standard.to_json(),
        "approval_certificate_no": result.plan.config.approval_certificate_no,
        "site": None
        if result.site is None
        else {"temperature_c": str(result.site.temperature_c),
              "humidity_pct": str(result.site.humidity_pct), "seal_no": result.site.seal_no},
        "checklist": dict(result.checklist),
        "insulation_mohm": None if result.insulation_mohm is None else str(result.insulation_mohm),
        "limit_percent": str(plan.limit_percent),
        "points": [
            {
                "label": p.point.label,
                "current_a": str(p.point.current_a),
                "derived": p.point.derived,
                "pulses_per_reading": p.point.target_pulses,
                "readings": [
                    {"pulses": r.pulses, "standard_wh": str(r.standard_energy_wh),
                     "pile_wh": str(r.pile_energy_wh), "error_percent": str(r.error_percent),
                     "t_ms": r.t_ms}
                    for r in p.readings
                ],
                "mean_error_percent": None if p.mean_error_percent is None
                else str(p.mean_error_percent),
                "rounded_error_percent": None if p.rounded_error_percent is None
                else str(p.rounded_error_percent),
                "passed": p.passed,
            }
            for p in result.points
        ],
        "clock": None
        if clock is None
        else {"error_s": str(clock.error_s), "limit_s": str(clock.limit_s),
              "applicable": clock.applicable, "passed": clock.passed,
              "meter_time": clock.meter_time.isoformat() if clock.meter_time else None,
              "reference_time": clock.reference_time.isoformat(timespec="milliseconds")
              if clock.reference_time else None},
        "short_windows": result.short_windows,
    }  # fmt: skip


def summary_lines(result: VerificationResult) -> list[str]:
    plan = result.plan
    lines = [
        f"{plan.pile.pile_id} gun {result.connector}  {plan.regulation}  "
        f"{plan.config.kind}: {result.verdict.upper()}"
    ]
    for p in result.points:
        mean = "—" if p.mean_error_percent is None else f"{p.mean_error_percent:+.4f} %"
        rounded = "—" if p.rounded_error_percent is None else f"{p.rounded_error_percent:+.1f} %"
        verdict = {True: "pass", False: "FAIL", None: "not measured"}[p.passed]
        derived = " (derived)" if p.point.derived else ""
        lines.append(
            f"  {p.point.label:<8} {p.point.current_a:>8.3f} A{derived:<10} mean {mean:>11}  "
            f"rounded {rounded:>7}  limit ±{plan.limit_percent:.1f} %  {verdict}"
        )
    if result.clock is not None:
        c = result.clock
        judged = "not applicable (no time-of-use billing)" if not c.applicable else (
            "pass" if c.passed else "FAIL")  # fmt: skip
        lines.append(f"  clock    {c.error_s:+.3f} s  limit ±{c.limit_s:g} s  {judged}")
    for reason in result.reasons:
        lines.append(f"  - {reason}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        pile = _pile(args)
        config = VerificationConfig(kind=KINDS[args.kind], connector=args.connector,
                                    cycle_years=args.cycle_years,
                                    approval_certificate_no=approval_number(args))  # fmt: skip
        plan = plan_verification(pile, config)
    except (ValueError, TypeError, OSError, StoreError) as exc:
        print(f"verify: {exc}", file=sys.stderr)
        return 2
    prompt, site = _answers(args)
    if site is None:
        print("verify: give --temperature and --humidity (or an --answers file): ambient "
              "conditions are a verification condition", file=sys.stderr)  # fmt: skip
        return 2
    from app.devices.rig import Rig

    journal = args.journal or args.out.with_suffix(".jsonl")
    rig = Rig.from_path(args.rig)
    try:
        result = VerificationProcedure(
            rig, plan, journal, prompt=prompt, site=site, standard=_standard(args),
            emit=lambda topic, payload: print(f"  {payload}", file=sys.stderr)
            if topic == "log" else None,
        ).run()  # fmt: skip
    except (StandardNotTraceable, JournalMismatch, VerificationAborted) as exc:
        print(f"verify: refused: {exc}", file=sys.stderr)
        return 2
    except DeviceError as exc:
        print(f"verify: rig: {exc}", file=sys.stderr)
        return 2
    finally:
        rig.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result_json(result), ensure_ascii=False, indent=2) + "\n",
                        encoding="utf-8")  # fmt: skip
    print("\n".join(summary_lines(result)))
    if args.certificate is not None and result.conditions_met:
        from PySide6.QtWidgets import QApplication

        from app.reports.certificate import write_certificate

        # A QApplication (not the lighter QGuiApplication): whatever runs after this in the
        # same process, the GUI or a test session, needs the widgets kind.
        _app = QApplication.instance() or QApplication(["verify"])
        write_certificate(result, args.certificate)
        print(f"draft certificate: {args.certificate}")
    return EXIT[result.verdict]


if __name__ == "__main__":
    sys.exit(main())
