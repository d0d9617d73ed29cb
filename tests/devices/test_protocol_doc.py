"""docs/rig-protocol.md stays true: every line of its example session checks out."""

from __future__ import annotations

from pathlib import Path

from app.devices import dlt645
from app.devices.rig import MeasurementFrame, strip_line_crc

DOC = Path(__file__).resolve().parents[2] / "docs" / "rig-protocol.md"


def example_session() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## 8. Example session", 1)[1]
    block = section.split("```", 2)[1]
    return [line for line in block.splitlines() if line.startswith(("> ", "< "))]


def test_example_session_checksums() -> None:
    lines = example_session()
    assert len(lines) > 30
    crc_on = False
    for line in lines:
        body = line[2:]
        if body.startswith("#M,"):
            MeasurementFrame.parse(body)
        elif crc_on:
            payload = strip_line_crc(body)
            if payload.startswith("MTR:RAW? "):
                dlt645.decode_frame(bytes.fromhex(payload.split(" ", 1)[1]))
            elif line.startswith("< ") and payload.startswith("FEFE"):
                reply = dlt645.interpret(dlt645.decode_frame(bytes.fromhex(payload)))
                assert reply is not None and reply.reading is not None
                assert str(reply.reading.value) == "1234.56"
        if body.startswith("SYST:CRC ON"):
            crc_on = True


def test_stream_example_in_grammar_section() -> None:
    text = DOC.read_text(encoding="utf-8")
    example = text.split("Example: `#M,", 1)[1].split("`", 1)[0]
    frame = MeasurementFrame.parse("#M," + example)
    assert frame.seq == 41


def test_gated_reading_example_is_what_the_driver_parses() -> None:
    """The ENER:GATE / CAL:INFO? lines of the example parse and give the error the text states."""
    from decimal import Decimal

    from app.devices.rig import Calibration, GateState, _gate

    lines = [strip_line_crc(line[2:]) for line in example_session() if "|" in line]
    done = [_gate(body) for body in lines if body.startswith("DONE,")]
    assert len(done) == 1 and done[0].state is GateState.DONE and done[0].complete
    error = done[0].error_percent(1000)
    assert error is not None and error.quantize(Decimal("0.0001")) == Decimal("0.4032")
    assert "γ = +0.4032 %" in DOC.read_text(encoding="utf-8")
    cal = [Calibration.parse(body) for body in lines if body.startswith("DC,0.05,")]
    assert cal and cal[0].expiry == "2027-09-14"
