"""docs/flowmeter-protocol.md stays true: its example session checks out line by line."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.devices.flowmeter import (
    BatchState,
    FlowmeterCalibration,
    FlowmeterIdentity,
    GarbledReply,
    add_line_crc,
    line_crc,
    strip_line_crc,
)
from app.models.fuel.verification import rounded, run_error_percent

DOC = Path(__file__).resolve().parents[2] / "docs" / "flowmeter-protocol.md"


def session() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("## 4. Example session", 1)[1].split("```", 2)[1]
    return [line for line in block.splitlines() if line.startswith(("> ", "< "))]


def test_every_reply_has_a_good_checksum() -> None:
    replies = [line[2:] for line in session() if line.startswith("< ")]
    assert len(replies) == 14
    for reply in replies:
        strip_line_crc(reply)  # raises on a bad one


def test_example_parses_and_states_the_right_error() -> None:
    pairs = list(zip(session()[::2], session()[1::2], strict=True))
    answers = {}
    for cmd, reply in pairs:
        answers.setdefault(cmd[2:], []).append(strip_line_crc(reply[2:]))
    FlowmeterIdentity.parse(answers["*IDN?"][0])
    assert FlowmeterCalibration.parse(answers["CAL?"][0]).expiry == "2027-06-30"
    final = BatchState.parse(answers["BATCH?"][-1])
    assert not final.running and final.volume_ml == Decimal("19935.1")
    shown = int(answers["SIM:DISP?"][-1].split(",")[0])
    error = run_error_percent(Decimal(shown), final.volume_ml)
    assert error.quantize(Decimal("0.0001")) == Decimal("0.3256")
    assert rounded(error) == Decimal("0.33")
    text = DOC.read_text(encoding="utf-8")
    assert "+0.3256 %" in text and "+0.33 %" in text
    assert answers["FOO?"][0].startswith("ERR,10,")


def test_checksum_catches_every_single_byte_change() -> None:
    line = add_line_crc("STOP,19935.1,0,18.5")
    for i in range(len(line)):
        for b in (0x30, 0x31, 0x39, 0x7C, 0x2C, 0x2E, 0x41):
            if ord(line[i]) == b:
                continue
            mutated = line[:i] + chr(b) + line[i + 1 :]
            try:
                payload = strip_line_crc(mutated)
            except GarbledReply:
                continue
            pytest.fail(f"{mutated!r} passed as {payload!r}")


def test_checksum_known_value() -> None:
    # CRC-16/MODBUS check value: "123456789" → 0x4B37 (the catalogue's check figure)
    assert line_crc("123456789") == "4B37"


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([line[2:] for line in session() if line.startswith("< ")]),
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), min_size=1, max_size=3),
)
def test_a_mutated_reply_is_refused_or_unchanged(line: str, edits: list[tuple[int, int]]) -> None:
    """A lying or noisy line never reads as another figure: up to three changed bytes
    (CRC-16 catches every burst up to 16 bits; the rest it catches with 1 − 2⁻¹⁶)."""
    data = bytearray(line.encode("ascii"))
    for pos, value in edits:
        data[pos % len(data)] = value
    mutated = data.decode("ascii", "replace")
    original = strip_line_crc(line)
    try:
        payload = strip_line_crc(mutated)
    except GarbledReply:
        return
    assert payload == original or len(edits) > 1  # a single change is always caught
