"""``python main.py verify`` (issue 12 item 8) against the simulator: verdict, JSON, exit codes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import main as entry
from tests.verification.conftest import METER_ADDRESS


def verify(sim, tmp_path, *extra: str) -> int:
    return entry.main(
        ["verify", "--rig", sim.path, "--pile", "HZ-P000777", "--out", str(tmp_path / "r.json"),
         "--meter-address", METER_ADDRESS, *extra]
    )  # fmt: skip


def test_pass_prints_each_point_and_writes_json(sim_factory, tmp_path, capsys) -> None:
    sim = sim_factory(true_error_pct=-0.7)
    answers = tmp_path / "answers.json"
    given = {"checklist": {"seals": True}, "temperature_c": 18.5, "humidity_pct": 62,
             "seal_no": "QF-9", "wiring": True}  # fmt: skip
    answers.write_text(json.dumps(given))
    code = verify(sim, tmp_path, "--answers", str(answers), "--kind", "subsequent",
                  "--imin", "20")  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "PASS" in out and "JJG 1149-2022" in out
    for label in ("Imax", "0.5Imax", "Imin"):
        line = next(x for x in out.splitlines() if x.strip().startswith(label + " "))
        assert " -0.7 %" in line.split("rounded", 1)[1] and "limit ±1.0 %" in line
        assert line.rstrip().endswith("pass")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["verdict"] == "pass" and data["kind"] == "periodic"
    assert data["site"] == {"temperature_c": "18.5", "humidity_pct": "62", "seal_no": "QF-9"}
    imin = data["points"][2]
    assert imin["current_a"] == "20.000" and imin["derived"] is False  # marked Imin used
    assert data["points"][0]["derived"] is True  # Imax from 120 kW / 750 V
    assert all(len(p["readings"]) == 2 for p in data["points"])
    assert data["clock"]["limit_s"] == "180"  # subsequent verification: 3 min


def test_failed_check_from_flags_and_exit_one(sim_factory, tmp_path, capsys) -> None:
    sim = sim_factory(true_error_pct=0.2)
    code = verify(sim, tmp_path, "--temperature", "20", "--humidity", "50", "--yes",
                  "--fail-check", "display")  # fmt: skip
    assert code == 1
    assert "checklist: display" in capsys.readouterr().out


def test_low_insulation_exit_three_and_no_items(sim_factory, tmp_path, capsys) -> None:
    sim = sim_factory(insulation_mohm=2.0)
    code = verify(sim, tmp_path, "--temperature", "20", "--humidity", "50", "--yes")
    assert code == 3
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["verdict"] == "conditions_not_met" and data["clock"] is None
    assert all(p["readings"] == [] for p in data["points"])


def test_expired_rig_is_refused(sim_factory, tmp_path, capsys) -> None:
    sim = sim_factory(cal_expiry=(dt.date.today() - dt.timedelta(days=3)).isoformat())
    code = verify(sim, tmp_path, "--temperature", "20", "--humidity", "50", "--yes")
    assert code == 2 and "expired" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()


def test_conditions_must_be_given(sim_factory, tmp_path, capsys) -> None:
    sim = sim_factory()
    assert verify(sim, tmp_path, "--yes") == 2
    assert "--temperature" in capsys.readouterr().err


def test_the_approval_number_is_the_office_setting_unless_the_flag_overrides(
    sim_factory, tmp_path, capsys
) -> None:
    """计量标准考核证书: set once in the office store (register.edit, audited), used by the
    headless run and printed; ``--approval-cert`` overrides; the inspector cannot set it."""
    import pytest
    from sqlalchemy import select

    from app.models import store as st
    from app.models.office_settings import approval_certificate_no, set_approval_certificate_no
    from app.models.users import (
        PermissionDenied,
        create_first_administrator,
        create_user,
        sign_in,
    )
    from app.verify_cli import approval_number, build_parser
    from tests.verification.test_certificate import pdf_text

    url = f"sqlite:///{tmp_path / 'office.sqlite'}"
    with st.Store.open(url) as store:
        with store.transaction() as conn:
            admin = create_first_administrator(conn, "admin", "管理员", "Zq7!correct-horse")
            create_user(conn, admin, "wang", "王监管", "regulator", "Zq7!correct-horse")
            create_user(conn, admin, "li", "李检定", "inspector", "Zq7!correct-horse",
                        inspector_id="INS-1")  # fmt: skip
        with store.transaction() as conn:
            regulator = sign_in(conn, "wang", "Zq7!correct-horse")
            inspector = sign_in(conn, "li", "Zq7!correct-horse")
        with store.transaction() as conn, pytest.raises(PermissionDenied):
            set_approval_certificate_no(conn, inspector, "[2099]浙量标杭证字第999号")
        for bad in ("line\nbreak", "x" * 65):
            with store.transaction() as conn, pytest.raises(ValueError):
                set_approval_certificate_no(conn, regulator, bad)
        with store.transaction() as conn:
            set_approval_certificate_no(conn, regulator, " [2024]浙量标杭证字第123号 ")
        with store.engine.connect() as conn:
            assert approval_certificate_no(conn) == "[2024]浙量标杭证字第123号"
            audited = conn.execute(
                select(st.audit_log.c.user, st.audit_log.c.action)
            ).all()  # fmt: skip
            assert ("wang", "register.approval_certificate") in [tuple(a) for a in audited]
    base = ["--rig", "x", "--pile", "P", "--out", "o.json"]
    assert approval_number(build_parser().parse_args([*base, "--db", url])) == (
        "[2024]浙量标杭证字第123号"
    )
    override = [*base, "--db", url, "--approval-cert", "A-1"]
    assert approval_number(build_parser().parse_args(override)) == "A-1"
    assert approval_number(build_parser().parse_args(base)) == ""  # no store here: none
    assert not Path(st.default_url().removeprefix("sqlite:///")).exists()  # none created

    sim = sim_factory(true_error_pct=0.3)
    pdf = tmp_path / "draft.pdf"
    code = verify(sim, tmp_path, "--temperature", "20", "--humidity", "50", "--yes",
                  "--db", url, "--certificate", str(pdf))  # fmt: skip
    assert code == 0, capsys.readouterr()
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["approval_certificate_no"] == "[2024]浙量标杭证字第123号"
    assert "浙量标杭证字第123号" in pdf_text(pdf)
