"""Consumer dispute report and the bundle report: the figures come from the verified
bundle, the fair amount from the posted tariff, and the CLI glues it all."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from app.models import evidence
from app.reports import dispute
from ledger import bundle_verify
from ledger.bundle import build_bundle


def pdf_text(data: bytes, tmp_path: Path) -> str:
    # ./test installs poppler-utils; without it the PDF text cannot be checked at all.
    assert shutil.which("pdftotext"), "pdftotext missing: apt-get install poppler-utils"
    path = tmp_path / "x.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return out.stdout.decode()


def facts_for(env, sid: str) -> evidence.DisputeFacts:
    inputs = evidence.session_evidence(env.store, env.client, sid)
    result = bundle_verify.verify_bundle(build_bundle(inputs), env.vkey)
    return evidence.dispute_facts(result, sid)


def test_fair_amount_and_overcharge(env):
    fair = facts_for(env, "S1")
    assert fair.all_ok and fair.signatures_ok and fair.inclusion_ok
    assert fair.metered_wh == fair.billed_wh == 30_000
    assert fair.difference_fen == 0 and fair.amount_fen == fair.fair_amount_fen == 5700
    over = facts_for(env, "S2")
    assert over.billed_wh == 31_500 and over.metered_wh == 30_000
    assert over.difference_fen == 285  # billed 59.85, fair 57.00
    assert len(over.proof_sha256) == 64
    assert over.qr_text.startswith("evm-dispute:v1;session=S2;proof-sha256=")


def test_dispute_pdfs_in_both_languages(env, qapp, tmp_path):
    facts = facts_for(env, "S2")
    zh = pdf_text(dispute.render_dispute(facts, "zh_CN", log_key=env.vkey), tmp_path)
    assert "多收 2.85 元" in zh and "59.85" in zh and "57.00" in zh
    assert "签名有效" in zh and "verify-bundle" in zh and facts.proof_sha256 in zh
    en = pdf_text(dispute.render_dispute(facts, "en"), tmp_path)
    assert "Overcharged by CNY 2.85" in en and "Inclusion proof SHA-256" in en
    bad = evidence.DisputeFacts("S9", problems=["no session record"])
    text = pdf_text(dispute.render_dispute(bad, "en"), tmp_path)
    assert "FAILED: not all signatures verify" in text and "Missing: no session record" in text
    assert "0.000" not in text  # no session: no metered energy, not zero
    lines = [line.split() for line in text.splitlines()]
    assert ["Pile", "—"] in lines and ["Meter", "—"] in [x[:2] for x in lines]  # own lines
    assert "verifiable" in text  # no "fi" ligature lost to the text layer


def test_qr_png_is_a_png():
    assert dispute.qr_png("evm-dispute:v1;session=S1").startswith(b"\x89PNG")


def test_bundle_with_reports_still_verifies(env, qapp, tmp_path):
    inputs = evidence.session_evidence(env.store, env.client, "S2")
    data, result = dispute.bundle_with_reports(inputs, name="S2.zip", dispute_session="S2")
    assert result.ok
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        report = zf.read("report.pdf")
    assert {"report.pdf", "dispute-zh.pdf", "dispute-en.pdf", "README.txt"} <= names
    assert bundle_verify.verify_bundle(data, env.vkey).ok
    text = pdf_text(report, tmp_path)
    assert "全部检查通过" in text and "all checks passed" in text and "--log-key" in text


def test_cli_zip_and_pdf(env, qapp, tmp_path, capsys):
    key = tmp_path / "log.vkey"
    key.write_text(env.vkey + "\n")
    base = ["--db", str(env.store.engine.url), "--platform", env.platform.url]
    out = tmp_path / "S2.zip"
    assert dispute.main([*base, "--log-key", str(key), "--session", "S2", "--out", str(out)]) == 0
    assert "all checks passed" in capsys.readouterr().out
    assert bundle_verify.verify_bundle(out.read_bytes(), env.vkey).ok
    pdf = tmp_path / "S2.pdf"
    args = [*base, "--log-key", env.vkey, "--session", "S2", "--out", str(pdf), "--lang", "en"]
    assert dispute.main(args) == 0
    assert "Overcharged" in pdf_text(pdf.read_bytes(), tmp_path)
    args = [*base, "--log-key", env.vkey, "--session", "nope", "--out", str(pdf)]
    assert dispute.main(args) == 1
    assert "not in the store" in capsys.readouterr().err


def test_long_reports_summarise_passed_entries(env, qapp, tmp_path, monkeypatch):
    from tests.world import T0

    monkeypatch.setattr(dispute, "MAX_LISTED_PASSES", 5)
    inputs = evidence.pile_evidence(env.store, env.client, "P1", T0, T0 + 2 * 86_400_000)
    result = bundle_verify.verify_bundle(build_bundle(inputs), env.vkey)
    assert result.ok and len(result.entries) > 30
    text = pdf_text(dispute.render_bundle_report(result), tmp_path)
    assert "further log entries all passed" in text
    assert text.count("entry #") < 10


def test_cli_pile_history_and_usage_errors(env, qapp, tmp_path, capsys):
    base = ["--db", str(env.store.engine.url), "--platform", env.platform.url]
    out = tmp_path / "P1.zip"
    args = [*base, "--log-key", env.vkey, "--pile", "P1", "--from", "2026-01-01"]
    assert dispute.main([*args, "--to", "2026-01-03", "--out", str(out)]) == 0
    res = bundle_verify.verify_bundle(out.read_bytes(), env.vkey)
    assert res.ok and res.subject["kind"] == "pile"
    with pytest.raises(SystemExit):
        dispute.main([*args, "--out", str(out)])  # --to missing
    with pytest.raises(SystemExit):
        dispute.main(
            [*base, "--log-key", env.vkey, "--pile", "P1", "--out", str(tmp_path / "x.pdf")]
        )
    capsys.readouterr()
