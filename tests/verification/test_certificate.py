"""The PDF certificate: Chinese text embedded with the bundled font, pass and fail forms."""

from __future__ import annotations

import shutil
import subprocess

from app.reports.certificate import CertificateInfo, write_certificate


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
    assert "不合格项" in text and "+1.4" in text
