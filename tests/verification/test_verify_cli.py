"""``python main.py verify`` (issue 12 item 8) against the simulator: verdict, JSON, exit codes."""

from __future__ import annotations

import datetime as dt
import json

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
