"""Validity (the regulation's verification cycle) kept apart from planning (the due date).

Sources: the certificate's 有效期 follows the verification cycle (local rules quote 3 years
for charging piles; configurable); Hangzhou's supervision of platform-supervised piles is
"首次检定、5—8年到期轮换、异常警示充电桩线下检定" (中国消费者报, 2022-05-26). A certificate
of day D "valid for N years" is valid up to and including D + N years − 1 day.
"""

from __future__ import annotations

import datetime as dt

import pytest

from app.models.charging.planning import (
    RULE_TEXT,
    due_policy,
    due_register,
    explain,
    set_due_policy,
    set_validity_years,
    valid_until,
    validity_years,
)
from app.models.users import PermissionDenied, sign_verification
from tests.planning.conftest import TODAY, Office, add_anomaly, verification_record

D = dt.date


def by_pile(office: Office, today: dt.date = TODAY) -> dict:
    with office.store.engine.connect() as conn:
        return {r.pile_id: r for r in due_register(conn, today)}


def test_valid_until_is_the_day_before_the_anniversary() -> None:
    assert valid_until(D(2024, 1, 15), 3) == D(2027, 1, 14)
    assert valid_until(D(2024, 3, 1), 3) == D(2027, 2, 28)
    # 2024-02-29 + 3 years has no 29 February: 28 February, and valid through the 27th.
    assert valid_until(D(2024, 2, 29), 3) == D(2027, 2, 27)


def test_each_row_has_both_dates_and_the_rule_that_set_each(office: Office) -> None:
    rows = by_pile(office)
    p6 = rows["P6"]  # DC certificate of 2024-01-15
    assert (p6.valid_until, p6.validity_years) == (D(2027, 1, 14), 3)
    assert (p6.due_date, p6.reason, p6.due_rule) == (D(2030, 1, 15), "rotation", "supervision")
    p2 = rows["P2"]  # AC certificate of 2020-05-01: expired under the cycle, rotation at 8 years
    assert p2.valid_until == D(2023, 4, 30) and p2.valid_until < TODAY
    assert (p2.due_date, p2.due_rule) == (D(2028, 5, 1), "supervision")
    p3 = rows["P3"]  # never verified
    assert p3.valid_until is None and (p3.reason, p3.due_rule) == ("first", "regulation")
    assert p6.valid_until != p6.due_date  # the two clocks are not mixed


def test_an_anomaly_date_is_labelled_as_such(office: Office) -> None:
    with office.store.transaction() as conn:
        add_anomaly(conn, "P6", D(2026, 5, 31), "high")
    p6 = by_pile(office)["P6"]
    assert (p6.due_date, p6.due_rule) == (D(2026, 6, 7), "anomaly")
    assert p6.valid_until == D(2027, 1, 14)  # the certificate is still valid meanwhile
    assert p6.explain("zh") == "R1 异常（高，#1）"
    assert {d.rule for d in p6.deadlines} == {"anomaly", "supervision"}


def test_passing_and_failing_verifications(office: Office) -> None:
    key = office.inspector.signing_key
    assert key is not None
    office.loader.apply(
        [
            verification_record(key, "P6", D(2026, 3, 2)),
            verification_record(key, "P5", D(2026, 3, 3), result="fail"),
        ]
    )
    rows = by_pile(office)
    assert rows["P6"].valid_until == D(2029, 3, 1)
    assert rows["P6"].due_date == D(2032, 3, 2)  # DC rotation 6 years
    assert rows["P5"].valid_until is None  # a failed pile has no valid certificate
    assert (rows["P5"].reason, rows["P5"].due_rule) == ("failed", "regulation")
    assert "不合格" in rows["P5"].explain("zh")


def test_the_cycle_is_configurable_by_regulators_only(office: Office) -> None:
    with office.store.transaction() as conn:
        for session in (office.inspector, office.checker, office.admin):
            with pytest.raises(PermissionDenied):
                set_validity_years(conn, session, "DC", 2)
        with pytest.raises(ValueError, match="1–10"):
            set_validity_years(conn, office.regulator, "DC", 0)
        set_validity_years(conn, office.regulator, "DC", 2)
        assert validity_years(conn) == {"DC": 2, "AC": 3}
    rows = by_pile(office)
    assert rows["P6"].valid_until == D(2026, 1, 14)
    assert rows["P6"].due_date == D(2030, 1, 15)  # planning unchanged by the cycle


def test_regulation_policy_puts_the_due_date_at_expiry(office: Office) -> None:
    with office.store.transaction() as conn:
        assert due_policy(conn) == "supervision"
        with pytest.raises(PermissionDenied):
            set_due_policy(conn, office.inspector, "regulation")
        with pytest.raises(ValueError, match="unknown due policy"):
            set_due_policy(conn, office.regulator, "yearly")
        set_due_policy(conn, office.regulator, "regulation")
    rows = by_pile(office)
    assert (rows["P6"].due_date, rows["P6"].reason, rows["P6"].due_rule) == (
        D(2027, 1, 14),
        "expiry",
        "regulation",
    )
    assert rows["P2"].status == "overdue"  # expired 2023-04-30
    assert rows["P6"].due_date == rows["P6"].valid_until


def test_explanations_exist_in_both_languages() -> None:
    args = {"meter": "M000107-1"}
    assert explain("no_certificate", args, "zh") == "电能表 M000107-1：无检定证书"
    assert explain("no_certificate", args, "en") == "meter M000107-1: no certificate"
    assert RULE_TEXT["supervision"][0].startswith("监管政策")


def test_signed_results_do_not_change_the_register_rules(office: Office) -> None:
    """A record signed by the user (sign_verification) counts like any logged result."""
    key = office.inspector.signing_key
    assert key is not None
    body = dict(verification_record(key, "P3", D(2026, 2, 1)).body)
    office.loader.apply([sign_verification(office.inspector, body)])
    p3 = by_pile(office)["P3"]
    assert p3.valid_until == D(2029, 1, 31) and p3.reason == "rotation"
