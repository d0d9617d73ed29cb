"""Modbus RTU codec (published frames, errors, fuzz) and the meter driver."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.devices import modbus
from app.devices.errors import (
    BadChecksum,
    DeviceTimeout,
    FrameError,
    LengthMismatch,
    MeterErrorReply,
    MeterProtocolError,
    MeterTimeout,
    TruncatedFrame,
)
from app.devices.modbus import (
    ExceptionCode,
    ExceptionResponse,
    ModbusExceptionReply,
    ModbusMeter,
    ReadRequest,
    ReadResponse,
    UnsupportedFunction,
    crc16,
    decode_frame,
    encode_frame,
)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def test_crc_check_value() -> None:
    assert crc16(b"123456789") == 0x4B37  # CRC-16/MODBUS catalogue check value


@pytest.mark.parametrize(
    ("frame", "raw"),
    [
        # The classic spec example: unit 1, read 10 holding registers from 0.
        (ReadRequest(1, 3, 0, 10), h("01 03 00 00 00 0A C5 CD")),
        (ReadRequest(1, 4, 0, 1), h("01 04 00 00 00 01 31 CA")),
        (ReadResponse(1, 3, (0x000A,)), h("01 03 02 00 0A 38 43")),
        (ExceptionResponse(1, 3, ExceptionCode.ILLEGAL_DATA_ADDRESS), h("01 83 02 C0 F1")),
    ],
)
def test_published_frames(frame: modbus.Frame, raw: bytes) -> None:
    assert encode_frame(frame) == raw
    assert decode_frame(raw, from_master=isinstance(frame, ReadRequest)) == frame


def test_exception_named() -> None:
    frame = decode_frame(h("01 83 02 C0 F1"))
    assert isinstance(frame, ExceptionResponse)
    assert frame.name == "illegal_data_address"


@pytest.mark.parametrize(
    ("raw", "error", "message"),
    [
        (h("01 03"), TruncatedFrame, "truncated"),
        (h("01 03 04 00 0A 38 43"), TruncatedFrame, "byte count 4"),
        (h("01 03 02 00 0A 38 44"), BadChecksum, "expected 4338, got 4438"),
        (h("01 03 02 00 0A 00 38 43"), LengthMismatch, "byte count 2 but 3"),
        (h("01 83 02 C0"), TruncatedFrame, "truncated"),
        (h("01 05 00 00 FF 00 8C 3A"), UnsupportedFunction, "unsupported function 05"),
    ],
)
def test_frame_errors(raw: bytes, error: type[FrameError], message: str) -> None:
    with pytest.raises(error, match=message):
        decode_frame(raw)


@settings(deadline=None)
@given(st.binary(max_size=40), st.booleans())
def test_fuzz_decode_frame(raw: bytes, from_master: bool) -> None:
    try:
        frame = decode_frame(raw, from_master=from_master)
    except FrameError:
        return
    assert encode_frame(frame) == raw


@settings(deadline=None)
@given(st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=20), st.integers(0, 39))
def test_fuzz_one_flipped_byte_is_caught(registers: list[int], pos: int) -> None:
    raw = bytearray(encode_frame(ReadResponse(7, 3, tuple(registers))))
    pos %= len(raw)
    raw[pos] ^= 0x5A
    try:
        frame = decode_frame(bytes(raw))
    except FrameError:
        return
    # A single corrupted byte never passes as the original frame.
    assert frame != ReadResponse(7, 3, tuple(registers))


class FakeLink:
    def __init__(self, script: list[tuple[bytes, bytes | None]]) -> None:
        self.script = list(script)

    def transact(self, request: bytes, *, expect_reply: bool = True) -> bytes:
        expected, reply = self.script.pop(0)
        assert request == expected, f"sent {request.hex(' ')}, expected {expected.hex(' ')}"
        if reply is None:
            raise DeviceTimeout("silent")
        return reply


SNAPSHOT_REQUEST = h("01 03 00 00 00 07") + crc16(h("01 03 00 00 00 07")).to_bytes(2, "little")


def snapshot_reply(unit: int = 1) -> bytes:
    regs = modbus.snapshot_registers(
        Decimal("1234.56"), Decimal("750.0"), Decimal("-100.000"), Decimal("-75000")
    )
    return encode_frame(ReadResponse(unit, 3, regs))


def test_snapshot_decodes_default_map() -> None:
    link = FakeLink([(SNAPSHOT_REQUEST, snapshot_reply())])
    snap = ModbusMeter(link).read_snapshot()
    assert snap == modbus.ModbusSnapshot(
        Decimal("1234.56"), Decimal("750.0"), Decimal("-100.000"), Decimal("-75.000")
    )


def test_exception_reply_not_retried() -> None:
    link = FakeLink([(SNAPSHOT_REQUEST, h("01 83 02 C0 F1"))])
    with pytest.raises(ModbusExceptionReply) as info:
        ModbusMeter(link).read_energy()
    assert isinstance(info.value, MeterErrorReply)
    assert info.value.reasons == ("illegal_data_address",)
    assert not link.script


def test_timeout_then_garbled_then_good() -> None:
    good = snapshot_reply()
    bad = good[:-1] + bytes([good[-1] ^ 1])
    link = FakeLink([(SNAPSHOT_REQUEST, None), (SNAPSHOT_REQUEST, bad), (SNAPSHOT_REQUEST, good)])
    assert ModbusMeter(link).read_energy() == Decimal("1234.56")


def test_all_timeouts() -> None:
    link = FakeLink([(SNAPSHOT_REQUEST, None)] * 2)
    with pytest.raises(MeterTimeout, match="unit 1 did not answer after 2 tries"):
        ModbusMeter(link, retries=1).read_power()


def test_reply_from_other_unit() -> None:
    link = FakeLink([(SNAPSHOT_REQUEST, snapshot_reply(unit=2))])
    with pytest.raises(MeterProtocolError, match="from unit 2"):
        ModbusMeter(link, retries=0).read_voltage()


@settings(deadline=None)
@given(st.binary(max_size=12))
def test_response_complete_never_raises(raw: bytes) -> None:
    assert modbus.response_complete(raw) in (True, False)
