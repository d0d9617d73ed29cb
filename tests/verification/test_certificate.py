"""The PDF certificate: Chinese text embedded with the bundled font, pass and fail forms."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil
import subprocess

import pytest

from app.models.charging.verification import CONDITIONS_NOT_MET
from app.models.verification_parts import CST
from app.reports.certificate import CertificateInfo, CertificateRefused, write_certificate


def pdf_text(path) -> str:
    # ./test installs poppler-utils; without it the PDF text cannot be checked at all.
    assert shutil.which("pdftotext"), "pdftotext missing: apt-get install poppler-utils"
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_pass_certificate(qapp, tmp_path, passed_result) -> None:
    path = write_certificate(
        passed_result,
        tmp_path / "cert.pdf",
        CertificateInfo(inspector_name="张检定", inspector_id="INS01"),
    )
    data = path.read_bytes()
    assert data.startswith(b"%PDF") and b"FontFile" in data  # the font is embedded
    assert not list(tmp_path.glob(".*.tmp"))
    text = pdf_text(path)
    # Every ideograph copies out as itself, not as a look-alike Kangxi radical (示, not ⽰).
    assert not [c for c in text if 0x2E80 <= ord(c) <= 0x2FDF], "radicals in the text layer"
    for expected in ("示例", "检定证书", "JJG 1149-2022", "HZ-P000123", "合格", "EVMETRO",
                     "SN2026000117", "时钟", "绝缘电阻", "张检定", "有效期", "INS01"):  # fmt: skip
        assert expected in text, expected
    assert "不合格" not in text
    due = passed_result.next_due()
    assert f"{due.year}年{due.month:02d}" in text


def test_fail_notice(qapp, tmp_path, failed_result) -> None:
    text = pdf_text(write_certificate(failed_result, tmp_path / "notice.pdf"))
    assert "检定结果通知书" in text and "检定证书" not in text
    assert "不合格项" in text
    # The simulated pile's true error is +1.4 %; what was measured carries the rig's
    # noise, so the notice is checked for the errors it measured (mean and rounded).
    measured = [p for p in failed_result.points if p.mean_error_percent is not None]
    assert measured and all(1.2 < p.mean_error_percent < 1.6 for p in measured)
    for p in measured:
        assert f"{p.mean_error_percent:+.3f}" in text and f"{p.rounded_error_percent:+.1f}" in text


# ---------------------------------------------------------------- issue 12 item 7: content


def signed_off(final: bool = True):
    from app.models.signoff import APPROVER, CHECKER, Countersignature, SignOff

    def cs(role: str, user: str, name: str, day: str) -> Countersignature:
        ms = int(dt.datetime.fromisoformat(day + "T10:00:00+08:00").timestamp() * 1000)
        return Countersignature(role, user, name, ms, "key-" + user, "c2ln")

    checker = cs(CHECKER, "li", "李核验", "2026-12-07")
    approver = cs(APPROVER, "wang", "王批准", "2026-12-08") if final else None
    return SignOff("张检定", checker, approver)


def test_jjf_1069_fields_on_a_final_certificate(qapp, tmp_path, passed_result) -> None:
    config = passed_result.plan.config
    result = dataclasses.replace(
        passed_result,
        plan=dataclasses.replace(
            passed_result.plan,
            config=dataclasses.replace(config, approval_certificate_no="[2025]浙量标杭证字第088号"),
        ),
    )
    text = pdf_text(write_certificate(result, tmp_path / "c.pdf", signoff=signed_off()))
    flat = "".join(text.split())
    assert "草稿" not in text and "DRAFT" not in text
    std = result.standard
    assert std is not None
    for expected in (
        "温度21.5°C", "相对湿度55%",  # environment
        std.certificate_no, f"{std.expiry:%Y年%m月%d日}", "JJG1192-2023",  # the standard
        "[2025]浙量标杭证字第088号",  # 计量标准考核证书
        "QF2026-0001",  # seal number
        "李核验2026-12-07", "王批准2026-12-08", "张检定",  # the three people
        "未标注，按Imax/10导出", "时钟时刻误差", "化整间距0.1%",
    ):  # fmt: skip
        assert expected in flat, expected
    pages = re.findall(r"第(\d+)页共(\d+)页", flat)
    assert pages and [int(p) for p, _ in pages] == list(range(1, len(pages) + 1))
    assert {int(n) for _, n in pages} == {len(pages)}
    for r in result.readings():  # every reading with its pulses and both energies
        assert f"{r.standard_energy_wh:.4f}" in flat and f"{r.pile_energy_wh:.4f}" in flat
        assert str(r.pulses) in flat
    due = result.valid_until()
    finished = dt.datetime.fromtimestamp(result.finished_ms / 1000, CST).date()
    assert due == finished.replace(year=finished.year + 3) - dt.timedelta(days=1)
    assert f"有效期至：{due:%Y年%m月%d日}" in flat
    assert "时钟示值误差" not in flat and "付费金额" not in flat  # 2018 items gone


def test_draft_until_checked_and_approved(qapp, tmp_path, passed_result) -> None:
    for signoff in (None, signed_off(final=False)):
        text = pdf_text(write_certificate(passed_result, tmp_path / "d.pdf", signoff=signoff))
        assert "草稿 — 未经核验、批准，不作为正式证书" in text and "DRAFT" in text
    text = pdf_text(write_certificate(passed_result, tmp_path / "d.pdf", signoff=signed_off(False)))
    flat = "".join(text.split())
    assert "李核验2026-12-07" in flat and "批准人：__________" in flat


def test_notice_has_a_notice_number_and_no_validity(qapp, tmp_path, failed_result) -> None:
    text = pdf_text(write_certificate(failed_result, tmp_path / "n.pdf", signoff=signed_off()))
    flat = "".join(text.split())
    assert "通知书编号：HZJLTZ" in flat and "证书编号" not in flat
    assert "有效期至：" not in flat  # the rig's own certificate expiry is still printed
    assert "不合格项：" in flat and "时钟时刻误差" in flat


def test_conditions_not_met_gets_no_document(qapp, tmp_path, passed_result) -> None:
    not_met = dataclasses.replace(
        passed_result, verdict=CONDITIONS_NOT_MET, reasons=("insulation resistance 3.0 MΩ",)
    )
    with pytest.raises(CertificateRefused, match="不满足检定条件"):
        write_certificate(not_met, tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()


def test_two_guns_on_one_notice(qapp, tmp_path, passed_result, failed_result) -> None:
    pile = dataclasses.replace(passed_result.plan.pile, connectors=2)

    def gun(result, n):
        plan = result.plan
        config = dataclasses.replace(plan.config, connector=n)
        return dataclasses.replace(result, plan=dataclasses.replace(plan, pile=pile, config=config))

    text = pdf_text(write_certificate([gun(failed_result, 2), gun(passed_result, 1)],
                                      tmp_path / "g.pdf"))  # fmt: skip
    flat = "".join(text.split())
    assert "检定结果通知书" in flat
    assert flat.index("检定结果（充电枪1）") < flat.index("检定结果（充电枪2）")
    assert "2号枪：" in flat and "1号枪：" not in flat  # only gun 2 failed
    assert "通知书编号：HZJLTZ" in flat  # a notice's number, though gun 1 passed
    with pytest.raises(CertificateRefused, match="twice"):
        write_certificate([gun(passed_result, 1), gun(passed_result, 1)], tmp_path / "h.pdf")


def test_english_reading_copy(qapp, tmp_path, passed_result) -> None:
    info = CertificateInfo(inspector_name="Zhang", lang="en")
    text = pdf_text(write_certificate(passed_result, tmp_path / "e.pdf", info))
    assert "Verification certificate" in text and "DRAFT" in text
    assert "Chinese document prevails" in text


def test_values_that_round_to_zero_print_without_a_minus_sign() -> None:
    """A clock 0.04 s slow or a mean error of −0.0004 % is "+0.0" / "+0.000", not "-0.0"."""
    from decimal import Decimal

    from app.reports.certificate import _pct, _signed

    assert _signed(Decimal("-0.04"), 1) == "+0.0"
    assert _pct(Decimal("-0.0004")) == "+0.000"
    assert _pct(Decimal("-0.04"), 1) == "+0.0"
    assert _signed(Decimal("-0.05"), 1) == "+0.0"  # half to even: 0.0
    assert _signed(Decimal("-0.06"), 1) == "-0.1"
    assert _pct(Decimal("0.6"), 1) == "+0.6" and _pct(None) == "—"
