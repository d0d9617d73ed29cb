"""The taxi-status document parser: strict, and nothing but DocumentError for any
mutation of a genuine document (a lying server controls every byte)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.taxi.feed import DocumentError, StatusDocument, changes
from ledger.taxi.status import TaxiStatus

GENUINE = StatusDocument(
    "hangzhou.evmetrology.example/2026",
    1234,
    bytes(range(32)),
    1234,
    1_767_312_984_000,
    None,
    (
        TaxiStatus(
            "浙A·1", "S1", "drift_suspected", "median_ppm=+50000;trips=25;entries=1,2"
        ).line(),
        TaxiStatus("浙A 2", "S%2", "valid", "verification@9").line(),
    ),
)


def test_round_trip():
    assert StatusDocument.parse(GENUINE.text()) == GENUINE
    assert "浙A%202 S%252 valid" in GENUINE.text()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("size 1234", "size 01234", "leading zeros"),
        ("count 2", "count 3", "count says 3"),
        ("list full", "list partial", "'full' or 'since N'"),
        ("taxi-status v1", "hangzhou.evmetrology.example/2026", "first line"),
        (" valid ", " fine ", "unknown status"),
        ("浙A%202", "浙A%2", "malformed escape"),
        ("S1", "%53%31", "not escaped as the contract says"),
    ],
)
def test_malformed_documents_are_refused_with_a_reason(old, new, message):
    text = GENUINE.text().replace(old, new, 1)
    with pytest.raises(DocumentError, match=message):
        StatusDocument.parse(text)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_mutation_is_a_document_error_or_parses(data):
    text = GENUINE.text()
    position = data.draw(st.integers(0, len(text) - 1))
    replacement = data.draw(st.text(max_size=3))
    mutated = text[:position] + replacement + text[position + 1 :]
    try:
        document = StatusDocument.parse(mutated)
    except DocumentError:
        return
    assert StatusDocument.parse(document.text()) == document


def test_changes_are_new_or_different_lines_only():
    old = [TaxiStatus("A", "S1", "valid", "verification@1").line()]
    new = [
        TaxiStatus("A", "S1", "valid", "verification@1").line(),
        TaxiStatus("B", "S2", "unverified", "meter@3").line(),
    ]
    assert changes(old, new) == (new[1],)
    failed = [TaxiStatus("A", "S1", "failed", "verification@4").line(), new[1]]
    assert changes(new, failed) == (failed[0],)
