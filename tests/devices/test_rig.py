"""Rig driver, byte for byte against a scripted port, and the stream-frame grammar."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.devices import dlt645
from app.devices.dlt645 import Dlt645Meter
from app.devices.errors import DeviceDisconnected, FrameError, MeterTimeout
from app.devices.rig import (
    GarbledFrame,
    Identity,
    MeasurementFrame,
    NotARig,
    Rig,
    RigError,
    RigTimeout,
    SealState,
    SourceMode,
    StreamGap,
    WindowSnapshot,
    add_line_crc,
    strip_line_crc,
)
from tests.devices.scripted import ScriptedPort

IDN = "EVMETRO,VLR-1000,SN2026000117,1.2.0"
OK = b'0,"No error"|59B4\n'


def c(line: str) -> bytes:
    """A line with its CRC suffix, as the driver sends and the rig replies in CRC mode."""
    return add_line_crc(line).encode() + b"\n"


CONNECT = [
    (b"\n", b""),
    (b"*IDN?\n", IDN.encode() + b"\n"),
    (c("SYST:CRC ON;:*CLS;:SYST:ERR?"), OK),
    (b"*IDN?|3F1E\n", b"EVMETRO,VLR-1000,SN2026000117,1.2.0|D148\n"),
]


def connected(script: list[tuple[bytes, bytes]], **kwargs: float) -> tuple[Rig, ScriptedPort]:
    port = ScriptedPort(CONNECT + script)
    rig = Rig(port, timeout=kwargs.get("timeout", 0.2), retries=int(kwargs.get("retries", 2)))
    assert rig.connect() == Identity("EVMETRO", "VLR-1000", "SN2026000117", "1.2.0")
    return rig, port


def test_init_sends_nothing() -> None:
    port = ScriptedPort([])
    Rig(port)
    assert not port.is_open and port.written == b""


def test_connect_exact_bytes() -> None:
    rig, port = connected([])
    assert str(rig.identity) == IDN
    port.assert_done()


def test_connect_to_something_else() -> None:
    port = ScriptedPort([(b"\n", b""), (b"*IDN?\n", b"hello\n")] + [(b"*IDN?\n", b"hello\n")] * 2)
    with pytest.raises(NotARig, match="no rig identification"):
        Rig(port, timeout=0.05).connect()


def test_dc_load_point_exact_bytes() -> None:
    rig, port = connected(
        [
            (c("*RST;:SYST:ERR?"), OK),
            (c("SOUR:MODE DC;:SYST:ERR?"), OK),
            (c("CONF:PULS 1000;:SYST:ERR?"), OK),
            (c("MEAS:INS? 1000"), c("523.4")),
            (c("SOUR:VOLT 750;:SYST:ERR?"), OK),
            (c("SOUR:CURR 100.5;:SYST:ERR?"), OK),
            (c("OUTP ON;:SYST:ERR?"), OK),
            (c("ENER:CLE;:SYST:ERR?"), OK),
            (c("ENER:WIND?"), c("60000,1250.0000,1256")),
            (c("SEAL?"), c("CLOSED")),
            (c("OUTP?"), c("1")),
            (c("MEAS:POW?"), c("75000.1")),
        ]
    )
    rig.reset()
    rig.set_mode(SourceMode.DC)
    rig.set_meter_constant(1000)
    assert rig.insulation_resistance(1000) == Decimal("523.4")
    rig.set_voltage(750)
    rig.set_current(Decimal("100.50"))
    rig.set_output(True)
    rig.clear_energy()
    snap = rig.window()
    assert snap == WindowSnapshot(60000, Decimal("1250.0000"), 1256)
    assert snap.error_percent(1000) == Decimal("0.48")
    assert rig.seal_state() is SealState.CLOSED
    assert rig.output_enabled() is True
    assert rig.measure_power_w() == Decimal("75000.1")
    port.assert_done()


def test_seal_state_enum() -> None:
    rig, port = connected([(c("SEAL?"), c("OPEN"))])
    assert rig.seal_state() is SealState.OPEN
    port.assert_done()


def test_rig_error_from_queue() -> None:
    rig, port = connected([(c("SOUR:VOLT 2000;:SYST:ERR?"), c('-222,"Data out of range"'))])
    with pytest.raises(RigError) as info:
        rig.set_voltage(2000)
    assert (info.value.code, info.value.text) == (-222, "Data out of range")
    assert "SOUR:VOLT 2000" in str(info.value)
    port.assert_done()


def test_failed_query_answers_empty_and_raises_queued_error() -> None:
    rig, port = connected(
        [(c("MEAS:INS? 500"), c("")), (c("SYST:ERR?"), c('-221,"Settings conflict"'))]
    )
    with pytest.raises(RigError, match="-221"):
        rig.insulation_resistance()
    port.assert_done()


def test_garbled_reply_is_retried() -> None:
    rig, port = connected(
        [
            (c("PULS:COUN?"), b"12X4|0000\n"),
            (c("PULS:COUN?"), c("1234")),
        ]
    )
    assert rig.pulse_count() == 1234
    port.assert_done()


def test_timeout_after_retries() -> None:
    rig, port = connected([(c("ENER:STD?"), b"")] * 3, timeout=0.05)
    with pytest.raises(RigTimeout, match=r"did not answer 'ENER:STD\?'.*3 tries"):
        rig.standard_energy_wh()
    port.assert_done()


def test_late_reply_is_not_taken_for_the_next_one() -> None:
    rig, port = connected([(c("ENER:STD?"), b""), (c("PULS:COUN?"), c("7"))], retries=0)
    with pytest.raises(RigTimeout):
        rig.standard_energy_wh()
    port.rx += c("1.5000")  # the slow answer to ENER:STD? arrives after the timeout
    assert rig.pulse_count() == 7
    assert rig.stale_replies == 1
    port.assert_done()


def test_garbled_after_retries() -> None:
    rig, _port = connected([(c("ENER:STD?"), b"1.0|FFFF\n")] * 3)
    with pytest.raises(GarbledFrame):
        rig.standard_energy_wh()


def test_port_vanishes() -> None:
    rig, port = connected([])
    port.vanished = True
    with pytest.raises(DeviceDisconnected, match="vanished"):
        rig.pulse_count()
    assert not port.is_open


def frame_line(seq: int, pulses: int = 0) -> bytes:
    frame = MeasurementFrame(
        seq,
        seq * 100,
        Decimal("750.000"),
        Decimal("100.000"),
        Decimal("75000.0"),
        Decimal("2.0833") * seq,
        pulses,
    )
    return frame.to_line().encode() + b"\n"


def test_stream_counts_gaps_and_garbling() -> None:
    garbled = bytearray(frame_line(2))
    garbled[10] ^= 0x01
    frames = frame_line(0) + frame_line(1) + bytes(garbled) + frame_line(3) + frame_line(5)
    rig, port = connected(
        [
            (c("INIT:STR 10;:SYST:ERR?"), OK + frames),
            (c("ABOR;:SYST:ERR?"), frame_line(6) + OK),
        ]
    )
    with rig.start_stream(10) as stream:
        seqs = [stream.read(0.5).seq for _ in range(4)]
    assert seqs == [0, 1, 3, 5]
    assert (stream.garbled, stream.dropped, stream.last_gap) == (1, 2, 1)
    port.assert_done()


def test_strict_stream_raises() -> None:
    rig, _port = connected([(c("INIT:STR 5;:SYST:ERR?"), OK + frame_line(0) + frame_line(2))])
    stream = rig.start_stream(5, strict=True)
    assert stream.read(0.5).seq == 0
    with pytest.raises(StreamGap, match="1 stream frame"):
        stream.read(0.5)


def test_query_while_streaming_keeps_frames() -> None:
    rig, port = connected(
        [
            (c("INIT:STR 10;:SYST:ERR?"), OK + frame_line(0)),
            (c("PULS:COUN?"), frame_line(1) + c("7") + frame_line(2)),
        ]
    )
    stream = rig.start_stream(10)
    assert rig.pulse_count() == 7
    assert [stream.read(0.5).seq for _ in range(3)] == [0, 1, 2]
    port.assert_done()


def test_meter_through_rig_exact_bytes() -> None:
    request = dlt645.encode_frame(dlt645.address_request(), preamble=4).hex().upper()
    reply = dlt645.encode_frame(dlt645.address_reply("000012345678"), preamble=4).hex().upper()
    voltage = dlt645.read_request("000012345678", dlt645.DI_VOLTAGE_A)
    voltage_request = dlt645.encode_frame(voltage, preamble=4).hex().upper()
    silent = c('201,"Meter no response"')
    rig, port = connected(
        [
            (c(f"MTR:RAW? {request}"), c(reply)),
            (c(f"MTR:RAW? {request}"), c("")),
            (c("SYST:ERR?"), silent),
            (c(f"MTR:RAW? {voltage_request}"), c("")),
            (c("SYST:ERR?"), silent),
        ]
    )
    meter = Dlt645Meter(rig.meter_link(), retries=0)
    assert meter.read_address() == "000012345678"
    assert rig.meter_raw(bytes.fromhex(request)) == b""
    with pytest.raises(MeterTimeout):
        meter.read_voltage()
    port.assert_done()


# --------------------------------------------------------------------------- grammar


def test_line_crc() -> None:
    assert add_line_crc('0,"No error"') == '0,"No error"|59B4'
    assert strip_line_crc('0,"No error"|59b4') == '0,"No error"'
    for bad in ('0,"No error"|59B5', '0,"No error"', "|"):
        with pytest.raises(GarbledFrame):
            strip_line_crc(bad)


def test_stream_frame_round_trip() -> None:
    line = "#M,41,12300,750.001,99.998,74996.2,256.2342,256"
    frame = MeasurementFrame.parse(add_line_crc(line).replace("|", ","))
    assert frame.seq == 41 and frame.pulses == 256
    assert frame.standard_energy_wh == Decimal("256.2342")
    assert frame.to_line().rpartition(",")[0] == line


@pytest.mark.parametrize(
    "line",
    [
        "",
        "#M",
        "#M,1,2,3,4,5,6,7",
        "#X,1,2,3,4,5,6,7,0000",
        "#M,1,2,3,4,5,6,7,zzzz",
        "#M,1,2,3,4,5,6,7,ABCD",
    ],
)
def test_stream_frame_rejects(line: str) -> None:
    with pytest.raises(GarbledFrame):
        MeasurementFrame.parse(line)


def test_stream_frame_with_valid_crc_but_bad_fields() -> None:
    body = "#M,1,2,abc,4,5,6,7"
    with pytest.raises(GarbledFrame, match="not a number"):
        MeasurementFrame.parse(add_line_crc(body).replace("|", ","))


good_frames = st.builds(
    MeasurementFrame,
    seq=st.integers(0, 2**32 - 1),
    t_ms=st.integers(0, 10**9),
    voltage_v=st.decimals(0, 1000, places=3),
    current_a=st.decimals(-300, 300, places=3),
    power_w=st.decimals(-300000, 300000, places=1),
    standard_energy_wh=st.decimals(0, 10**6, places=4),
    pulses=st.integers(0, 10**9),
)


@settings(deadline=None)
@given(good_frames)
def test_fuzz_stream_round_trip(frame: MeasurementFrame) -> None:
    assert MeasurementFrame.parse(frame.to_line()) == frame


@settings(deadline=None)
@given(good_frames, st.data())
def test_fuzz_stream_garbling_detected(frame: MeasurementFrame, data: st.DataObject) -> None:
    raw = bytearray(frame.to_line().encode())
    pos = data.draw(st.integers(0, len(raw) - 1))
    new = data.draw(st.integers(0, 255).filter(lambda b: b != raw[pos]))
    raw[pos] = new
    try:
        parsed = MeasurementFrame.parse(bytes(raw))
    except GarbledFrame:
        return
    # CRC-16 catches every single-byte error, so only harmless changes may pass
    # (e.g. "0.5" -> "0.50" is impossible with one byte, so nothing should pass).
    assert parsed == frame


@settings(deadline=None)
@given(st.one_of(st.binary(max_size=120), st.text(max_size=120)))
def test_fuzz_stream_parser_only_raises_frame_error(line: bytes | str) -> None:
    with contextlib.suppress(FrameError):
        MeasurementFrame.parse(line)


# ---------------------------------------------------------------- protocol 1.3: gate, CAL:INFO?


def test_gated_reading_and_calibration_exact_bytes() -> None:
    from app.devices.rig import Calibration, GatedWindow, GateState

    rig, port = connected(
        [
            (c("ENER:GATE 200;:SYST:ERR?"), OK),
            (c("ENER:GATE?"), c("RUN,200,30,9177,30.588929")),
            (c("ENER:GATE?"), c("DONE,200,200,59761,199.196882")),
            (c("CAL:INFO?"), c("DC,0.05,ZJJL2026-DNJ-0417,2027-09-14,ZJIM")),
            (c("CAL:INFO?"), b"|FFFF\n"),  # older firmware: empty line, then the queued error
            (c("SYST:ERR?"), c('-113,"Undefined header"')),
        ]
    )
    rig.arm_gate(200)
    running = rig.gate()
    assert running.state is GateState.RUNNING and not running.complete
    assert running.error_percent(1000) is None  # not judged before the closing edge
    done = rig.gate()
    assert done == GatedWindow(GateState.DONE, 200, 200, 59761, Decimal("199.196882"))
    error = done.error_percent(1000)
    assert error is not None and error.quantize(Decimal("0.0001")) == Decimal("0.4032")
    assert rig.calibration() == Calibration("DC", "0.05", "ZJJL2026-DNJ-0417", "2027-09-14", "ZJIM")
    assert rig.calibration() is None
    port.assert_done()
    with pytest.raises(ValueError):
        rig.arm_gate(0)


@settings(deadline=None, max_examples=200)
@given(st.text(max_size=80))
def test_fuzz_gate_and_calibration_parsers_only_raise_garbled(line: str) -> None:
    from app.devices.rig import Calibration, _gate

    for parse in (_gate, Calibration.parse):
        with contextlib.suppress(GarbledFrame):
            parse(line)
