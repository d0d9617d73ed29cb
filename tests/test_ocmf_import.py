"""OCMF records imported for display: real chargers' records verify, altered ones fail."""

from __future__ import annotations

from pathlib import Path

from app.models.ocmf_import import import_file, import_ocmf

DATA = Path(__file__).parent / "data" / "ocmf"


def test_real_charger_records_verify_and_show_energy():
    rows = import_file(DATA / "bauer-bsm-end.ocmf", DATA / "bauer-bsm-end.pubkey")
    assert len(rows) == 1 and rows[0].signature_ok, rows[0].message
    assert rows[0].meter


def test_altered_record_and_garbage_are_reported_not_dropped():
    text = (DATA / "bauer-bsm-end.ocmf").read_text().strip()
    key = (DATA / "bauer-bsm-end.pubkey").read_text().strip()
    altered = text.replace('"RV":', '"RV":1', 1) if '"RV":' in text else text[:-10] + "0" * 10
    rows = import_ocmf([text, altered, "not ocmf"], key)
    assert [r.signature_ok for r in rows] == [True, False, False]
    assert [r.verdict for r in rows] == ["verified", "bad_signature", "malformed"]
    assert rows[2].message
    unkeyed = import_ocmf([text], None)  # the BAUER record carries no key of its own
    assert [(r.signature_ok, r.verdict) for r in unkeyed] == [(False, "no_key")]


def test_dialog_says_each_verdict_in_the_ui_language(qtbot):
    from app.views.ocmf_view import OcmfDialog

    text = (DATA / "bauer-bsm-end.ocmf").read_text().strip()
    key = (DATA / "bauer-bsm-end.pubkey").read_text().strip()
    altered = text.replace('"RV":', '"RV":1', 1)
    assert altered != text
    rows = import_ocmf([text, "OCMF|{}|{}", altered], key)
    dialog = OcmfDialog(rows)
    qtbot.addWidget(dialog)
    cells = [dialog.table.item(i, 6) for i in range(3)]
    assert [c.text() for c in cells] == [
        "√ signature verified",
        "× not a valid OCMF record",
        "× signature does not verify",
    ]
    assert cells[1].toolTip() == rows[1].message  # the technical reason stays reachable


def test_begin_and_end_records_pair_into_a_session_energy():
    from app.models.ocmf_import import paired_energy_wh

    key = (DATA / "bauer-bsm-end.pubkey").read_text().strip()
    lines = [(DATA / f"bauer-bsm-{p}.ocmf").read_text().strip() for p in ("begin", "end")]
    energy = paired_energy_wh(import_ocmf(lines, key))
    assert energy is not None and energy > 0
