"""OCMF signed meter data (German Eichrecht chargers, OCPP SignedMeterValue) read,
verified and summarised like our own sessions, for display and evidence bundles."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ledger.ocmf import OcmfError, OcmfKeyMissing, parse_ocmf, session_energy, verify_ocmf


@dataclass(frozen=True)
class ImportedRecord:
    """One OCMF record as the session list shows it."""

    source: str
    meter: str
    pagination: str
    begin: str
    end: str
    energy_wh: float | None
    signature_ok: bool
    message: str
    """The technical reason, in English (OCMF field names), for the record's detail."""
    text: str
    verdict: str = "verified"
    """One of VERDICTS: what a user is told, translated by the view."""


VERDICTS = ("verified", "bad_signature", "no_key", "malformed")


def import_ocmf(lines: list[str], public_key: str | None, source: str = "") -> list[ImportedRecord]:
    """Parses and verifies each non-empty line; a bad line is reported, never dropped."""
    out: list[ImportedRecord] = []
    for number, line in enumerate((x.strip() for x in lines), 1):
        if not line:
            continue
        where = f"{source}:{number}" if source else str(number)
        try:
            record = parse_ocmf(line)
        except OcmfError as exc:
            out.append(
                ImportedRecord(where, "", "", "", "", None, False, str(exc), line, "malformed")
            )
            continue
        try:
            verify_ocmf(record, public_key or None)
            ok, message, verdict = True, "signature verified", "verified"
        except OcmfKeyMissing as exc:
            ok, message, verdict = False, str(exc), "no_key"
        except OcmfError as exc:
            ok, message, verdict = False, str(exc), "bad_signature"
        begin = end = ""
        energy = None
        try:
            summary = session_energy([record])
            begin, end = summary.begin.time_text, summary.end.time_text
            energy = float(summary.energy_wh)
        except OcmfError:
            if record.readings:
                begin = record.readings[0].time_text
                end = record.readings[-1].time_text
        out.append(
            ImportedRecord(
                where,
                record.meter_serial,
                record.pagination,
                begin,
                end,
                energy,
                ok,
                message,
                line,
                verdict,
            )
        )
    return out


def import_file(path: Path, key_path: Path | None) -> list[ImportedRecord]:
    key = key_path.read_text().strip() if key_path else None
    return import_ocmf(path.read_text(encoding="utf-8").splitlines(), key, path.name)


def paired_energy_wh(rows: list[ImportedRecord]) -> float | None:
    """Energy between a begin and an end record (BAUER/eBee split a session in two),
    over the records whose signatures hold; None when they do not pair up."""
    records = [parse_ocmf(r.text) for r in rows if r.signature_ok]
    try:
        return float(session_energy(records).energy_wh)
    except (OcmfError, ValueError):
        return None
