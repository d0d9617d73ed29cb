"""The taxi 检定证书 / 检定结果通知书 PDF says what the signed result says (text extracted)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from app.models.taxi import verification as tv
from app.reports.taxi_certificate import TaxiCertificateInfo, write_taxi_certificate
from tests.fuel.test_verification_certificate import pdf_text

AT_MS = 1_796_529_600_000  # 2026-12-06 CST
ALL_OK = {c.key: True for c in tv.CHECKLIST}
STD = {"identity": "HZTAXI,JJZ-517R,SN2026-0517,1.3", "accuracy": "0.1",
       "certificate_no": "ZJJL2026-JJQ-0517", "expiry": "2027-09-30"}  # fmt: skip
PLAN = tv.plan_verification(tv.TaxiSpec("浙A·T0517", "JJ-517", 1000, model="JBC-11"))


def result(meter: list[str], wait_s: str = "600.4", checklist=ALL_OK) -> tv.TaxiResult:
    runs = [tv.DistanceReading(i, Decimal("1000.0"), Decimal(m)) for i, m in enumerate(meter)]
    return tv.judge(PLAN, checklist, runs, tv.TimeReading(Decimal(600), Decimal(wait_s)),
                    finished_ms=AT_MS, standard=STD)  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def _app(qapp) -> None:
    return None


def test_certificate_of_a_pass(tmp_path: Path) -> None:
    res = result(["995", "1004"])  # −0.5 %, +0.4 %; waiting time +0.07 %
    assert res.passed, res.reasons
    info = TaxiCertificateInfo(inspector_name="李检定", inspector_id="INS1",
                               signature_key_id="k1", record_digest="ab" * 32)  # fmt: skip
    text = pdf_text(write_taxi_certificate(res, tmp_path / "c.pdf", info))
    assert "检定证书" in text and "检定结果通知书" not in text
    assert tv.certificate_number(res) in text and "浙A·T0517" in text
    assert "2027-12-05" in text  # 有效期至: one year − 1 day
    assert "-0.5" in text and "+0.4" in text and "+0.07" in text
    assert "JJG 517-2016" in text and "滚轮测距法" in text and "ZJJL2026-JJQ-0517" in text
    assert "草稿" not in text


def test_notice_of_a_fail_names_the_reasons(tmp_path: Path) -> None:
    res = result(["959", "1000"], checklist={**ALL_OK, "seals": False})
    assert not res.passed
    text = pdf_text(write_taxi_certificate(res, tmp_path / "n.pdf"))
    assert "检定结果通知书" in text and "不合格" in text
    assert "封印" in text and "计程 1 误差 -4.1" in text
    assert "草稿" in text  # not signed yet
    english = pdf_text(
        write_taxi_certificate(res, tmp_path / "n_en.pdf", TaxiCertificateInfo(lang="en"))
    )
    assert "Verification result notice" in english and "distance run 1" in english
