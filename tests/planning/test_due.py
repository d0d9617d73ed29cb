"""Due-date rules: first verification, rotation (leap days, undated certificates), anomalies."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from openpyxl import load_workbook

from app.models.charging.planning import (
    anomaly_deadline,
    certificates_of,
    due_list,
    due_register,
    due_status_by_pile,
    export_csv,
    export_xlsx,
    parse_cert_date,
    rotation_due,
    rotation_years,
    set_rotation_years,
)
from app.models.users import PermissionDenied, guarded_alarm_transition
from tests.planning.conftest import TODAY, Office, add_alarm, add_anomaly, verification_record

D = dt.date


def by_pile(office: Office, today: dt.date = TODAY) -> dict:
    with office.store.engine.connect() as conn:
        return {r.pile_id: r for r in due_register(conn, today)}


@pytest.mark.parametrize(
    ("cert", "years", "due"),
    [
        (D(2024, 2, 29), 6, D(2030, 2, 28)),  # no 29 Feb in 2030: the day before 1 March
        (D(2024, 2, 29), 8, D(2032, 2, 29)),  # leap year again: same day
        (D(2023, 2, 28), 5, D(2028, 2, 28)),  # 28 Feb stays 28 Feb, even in a leap year
        (D(2024, 3, 1), 6, D(2030, 3, 1)),
    ],
)
def test_rotation_leap_days(cert: dt.date, years: int, due: dt.date) -> None:
    assert rotation_due(cert, years) == due


@pytest.mark.parametrize("years", [4, 9])
def test_rotation_outside_5_to_8_years_is_refused(years: int) -> None:
    with pytest.raises(ValueError, match="5–8"):
        rotation_due(D(2024, 1, 1), years)


def test_severity_deadlines() -> None:
    found = D(2026, 5, 30)
    assert anomaly_deadline(found, "critical") == D(2026, 6, 2)
    assert anomaly_deadline(found, "high") == D(2026, 6, 6)
    assert anomaly_deadline(found, "warning") == D(2026, 6, 29)
    assert anomaly_deadline(found, "info") is None


def test_certificate_dates_parse_or_are_none() -> None:
    assert parse_cert_date("2024-02-29") == D(2024, 2, 29)
    assert parse_cert_date("20240229") == D(2024, 2, 29)
    assert parse_cert_date("2024/02/29") == D(2024, 2, 29)
    assert parse_cert_date("2023-02-29") is None  # not a date
    assert parse_cert_date("") is None and parse_cert_date(None) is None


def test_register_reasons(office: Office) -> None:
    rows = by_pile(office)
    assert (rows["P1"].reason, rows["P1"].due_date) == ("rotation", D(2030, 2, 28))
    assert (rows["P2"].reason, rows["P2"].due_date) == ("rotation", D(2028, 5, 1))  # AC: 8
    # Never verified: due at installation (2026-01-01), so overdue now.
    assert (rows["P3"].reason, rows["P3"].due_date, rows["P3"].status) == (
        "first",
        D(2026, 1, 1),
        "overdue",
    )
    # A certificate number without a date: dated from installation, never more time.
    assert (rows["P4"].reason, rows["P4"].due_date) == ("rotation", D(2032, 1, 1))
    assert "no date" in rows["P4"].detail
    assert rows["P5"].status == "overdue" and rows["P5"].due_date == D(2025, 6, 1)
    assert rows["P1"].status == "ok" and rows["P1"].days_left == (D(2030, 2, 28) - TODAY).days


def test_anomaly_on_an_overdue_pile_keeps_the_earlier_date(office: Office) -> None:
    with office.store.transaction() as conn:
        add_anomaly(conn, "P5", D(2026, 5, 30), "critical")  # deadline 2026-06-02
        add_anomaly(conn, "P6", D(2026, 5, 30), "warning", rule="R2")  # 2026-06-29
        add_anomaly(conn, "P6", D(2026, 5, 31), "high")  # 2026-06-07: earliest of P6
    rows = by_pile(office)
    assert (rows["P5"].reason, rows["P5"].due_date, rows["P5"].triggered) == (
        "rotation",
        D(2025, 6, 1),
        True,
    )
    assert (rows["P6"].reason, rows["P6"].due_date, rows["P6"].status) == (
        "anomaly",
        D(2026, 6, 7),
        "due_30",
    )
    assert [d.reason for d in rows["P6"].deadlines] == ["anomaly", "anomaly", "rotation"]


def test_open_alarms_trigger_and_dismissed_ones_do_not(office: Office) -> None:
    at = dt.datetime(2026, 5, 31, 2, tzinfo=dt.UTC)
    with office.store.transaction() as conn:
        add_alarm(conn, "P1", at, "critical")
        add_anomaly(conn, "P7", D(2026, 5, 31), "critical", rule="R9")
        alarm = add_alarm(conn, "P7", at, "critical", rule="R9")
    assert by_pile(office)["P1"].due_date == D(2026, 6, 3)
    with office.store.transaction() as conn:
        with pytest.raises(PermissionDenied, match=r"inspector .* may not dismiss alarms"):
            guarded_alarm_transition(conn, office.inspector, alarm, 1, "dismissed")
        assert guarded_alarm_transition(
            conn, office.regulator, alarm, 1, "dismissed", "false alarm"
        )
    rows = by_pile(office)
    assert rows["P7"].reason == "rotation" and not rows["P7"].triggered


def test_verification_records_renew_and_failures_are_due_at_once(office: Office) -> None:
    key = office.inspector.signing_key
    assert key is not None
    with office.store.transaction() as conn:
        add_anomaly(conn, "P6", D(2026, 5, 1), "critical")
    office.loader.apply(
        [
            verification_record(key, "P3", D(2026, 5, 20)),
            verification_record(key, "P6", D(2026, 5, 20)),  # after the anomaly: clears it
            verification_record(key, "P7", D(2026, 5, 20), result="fail"),
        ]
    )
    rows = by_pile(office)
    assert (rows["P3"].reason, rows["P3"].due_date, rows["P3"].status) == (
        "rotation",
        D(2032, 5, 20),
        "ok",
    )
    assert not rows["P6"].triggered and rows["P6"].due_date == D(2032, 5, 20)
    assert (rows["P7"].reason, rows["P7"].due_date, rows["P7"].status) == (
        "failed",
        D(2026, 5, 20),
        "overdue",
    )
    assert rows["P3"].last_certificate is not None
    assert rows["P3"].last_certificate.source == "verification"
    office.loader.apply([verification_record(key, "P4", D(2026, 5, 21), result="fail")])
    with office.store.engine.connect() as conn:
        history = certificates_of(conn, "P4")
    assert [(c.source, c.date, c.passed) for c in history] == [
        ("verification", D(2026, 5, 21), False),
        ("registry-undated", None, True),
    ]


def test_rotation_settings_are_a_table_regulators_edit(office: Office) -> None:
    with office.store.engine.connect() as conn:
        assert rotation_years(conn) == {"DC": 6, "AC": 8}
    with office.store.transaction() as conn:
        with pytest.raises(PermissionDenied, match=r"inspector .* verification register"):
            set_rotation_years(conn, office.inspector, "DC", 8)
        with pytest.raises(PermissionDenied, match="administrator"):
            set_rotation_years(conn, office.admin, "DC", 8)
        with pytest.raises(ValueError, match="5–8"):
            set_rotation_years(conn, office.regulator, "DC", 9)
        set_rotation_years(conn, office.regulator, "DC", 5)
    assert by_pile(office)["P1"].due_date == D(2029, 2, 28)


def test_due_list_groups_status_map_and_exports(office: Office, tmp_path: Path) -> None:
    with office.store.transaction() as conn:
        add_anomaly(conn, "P6", D(2026, 5, 31), "high")
    today = D(2028, 3, 1)  # P2 (AC, 2028-05-01) is 61 days away
    with office.store.engine.connect() as conn:
        rows = due_list(conn, today)
        assert [r.pile_id for r in due_list(conn, today, only="overdue")] == [
            "P5",
            "P3",
            "P8",
            "P6",
        ]
        assert [r.pile_id for r in due_list(conn, today, only="due_90")] == ["P2"]
        assert [r.pile_id for r in due_list(conn, today, only="triggered")] == ["P6"]
        status = due_status_by_pile(conn, today)
    assert {r.pile_id for r in rows} == {"P2", "P3", "P5", "P6", "P8"}
    assert status["P3"] == "overdue" and status["P1"] == "ok" and len(status) == 8
    export_csv(rows, tmp_path / "due.csv")
    with open(tmp_path / "due.csv", encoding="utf-8-sig", newline="") as fh:
        table = list(csv.reader(fh))
    assert table[0][0] == "桩编号" and len(table) == len(rows) + 1
    assert table[2][0] == "P3" and table[2][5] == "2026-01-01" and table[2][8] == "首次检定缺失"
    export_xlsx(rows, tmp_path / "due.xlsx", lang="en")
    sheet = load_workbook(tmp_path / "due.xlsx").active
    assert sheet is not None
    assert sheet["A1"].value == "Pile" and sheet["A3"].value == "P3"
    assert sheet["F3"].value.date() == D(2026, 1, 1)  # a real date cell
    assert sheet["I3"].value == "first verification missing"
