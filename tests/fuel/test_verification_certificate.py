"""The fuel 检定证书 / 检定结果通知书 PDF says what the signed result says (text extracted)."""

from __future__ import annotations

import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from app.models.fuel import verification as fv
from app.reports.fuel_certificate import FuelCertificateInfo, write_fuel_certificate

AT_MS = 1_796_529_600_000  # 2026-12-06 CST
ALL_OK = {item.key: True for item in fv.CHECKLIST}
STD = {"type": "measure", "serial": "BZ20-0117", "certificate_no": "ZJJL2026-LQ-0088",
       "expiry": "2027-03-31"}  # fmt: skip


def pdf_text(path: Path) -> str:
    assert shutil.which("pdftotext"), "pdftotext missing: apt-get install poppler-utils"
    out = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return out.stdout


def result(shown: list[int], checklist: dict[str, bool] = ALL_OK) -> fv.FuelResult:
    plan = fv.plan_verification(fv.DispenserSpec("FD000001", 2, "92", station="文三路加油站"))
    runs = [
        fv.RunReading(p.index, j, v, Decimal(20_000), Decimal(18), Decimal(21))
        for p in plan.points
        for j, v in enumerate(shown)
    ]
    return fv.judge(plan, checklist, runs, finished_ms=AT_MS, standard=STD,
                    conditions={"ambient_temp_dc": 215, "seal_no": "QF2026-0101"})  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def _app(qapp) -> None:
    return None


def test_certificate_of_a_pass(tmp_path: Path) -> None:
    # can 18 °C, dispenser 21 °C: V_B = 20070 mL (tests/fuel/test_verification_model.py);
    # shown 20 100 mL → 30 / 20070 = +0.149 % → +0.15 %; 20 110 mL → 40 / 20070 = +0.20 %
    res = result([20_100, 20_100, 20_110])
    assert res.passed, res.reasons
    info = FuelCertificateInfo(inspector_name="张检定", inspector_id="INS01",
                               signature_key_id="k1", record_digest="ab" * 32)  # fmt: skip
    text = pdf_text(write_fuel_certificate(res, tmp_path / "c.pdf", info))
    assert "检定证书" in text and "检定结果通知书" not in text
    assert fv.certificate_number(res) in text
    assert "2027-06-05" in text  # 有效期至: 6 months − 1 day
    assert "20070.0" in text and "+0.15" in text and "+0.20" in text
    assert "JJG 443-2023" in text and "QF2026-0101" in text and "ZJJL2026-LQ-0088" in text
    assert "草稿" not in text  # signed: no draft mark
    assert "修正到加油机处油温" in "".join(text.split())  # both temperatures were recorded


def test_notice_of_a_fail_names_the_reasons(tmp_path: Path) -> None:
    res = result([20_100, 20_100, 20_150], {**ALL_OK, "seals": False})  # 80/20070 = 0.40 %
    assert not res.passed
    text = pdf_text(write_fuel_certificate(res, tmp_path / "n.pdf"))
    assert "检定结果通知书" in text and "不合格" in text
    assert "封印" in text and "示值误差 0.40%" in text
    assert "草稿" in text  # not signed yet
    english = pdf_text(
        write_fuel_certificate(res, tmp_path / "n_en.pdf", FuelCertificateInfo(lang="en"))
    )
    assert "Verification result notice" in english and "fail" in english


def test_no_correction_is_said_when_temperatures_are_missing(tmp_path: Path) -> None:
    plan = fv.plan_verification(fv.DispenserSpec("FD000001"), medium_point=False)
    runs = [
        fv.RunReading(p.index, j, 20_000, Decimal(20_000)) for p in plan.points for j in range(3)
    ]
    res = fv.judge(plan, ALL_OK, runs, finished_ms=AT_MS, standard=STD)
    text = pdf_text(write_fuel_certificate(res, tmp_path / "c.pdf"))
    flat = "".join(text.split())  # a wrapped line may split any word
    assert "未作温度修正" in flat and "修正到加油机处油温" not in flat
