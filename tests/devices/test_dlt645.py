"""DL/T 645-2007 codec (published frames, errors, fuzz), CLI and meter driver."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import tty
from decimal import Decimal
from pathlib import Path

import pytest
import serial
from hypothesis import given, settings
from hypothesis import strategies as st

from app.devices import dlt645
from app.devices.dlt645 import (
    DI_CURRENT_A,
    DI_DATE,
    DI_FORWARD_ACTIVE_ENERGY,
    DI_TIME,
    DI_TOTAL_ACTIVE_POWER,
    DI_VOLTAGE_A,
    Dlt645ErrorReply,
    Dlt645Meter,
    ErrorBit,
    Frame,
    decode_frame,
    encode_frame,
)
from app.devices.errors import (
    BadBcdDigit,
    BadChecksum,
    BadEndByte,
    BadStartByte,
    DeviceTimeout,
    FrameError,
    LengthMismatch,
    MeterErrorReply,
    MeterProtocolError,
    MeterTimeout,
    TruncatedFrame,
)
from app.devices.transport import SerialFrameLink

REPO = Path(__file__).resolve().parents[2]


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# Published frames: the read-address request from the task brief, and a
# logged session with meter 000000000161 (energy 000000.26 kWh, voltage 100.1 V).
READ_ADDRESS = h("68 AA AA AA AA AA AA 68 13 00 DF 16")
ENERGY_REQUEST = h("FE FE FE FE 68 61 01 00 00 00 00 68 11 04 33 33 34 33 14 16")
ENERGY_REPLY = h("68 61 01 00 00 00 00 68 91 08 33 33 34 33 59 33 33 33 8A 16")
VOLTAGE_REPLY = h("68 61 01 00 00 00 00 68 91 06 33 34 34 35 34 43 10 16")
WILDCARD_ENERGY_REQUEST = h("68 AA AA AA AA AA AA 68 11 04 33 33 34 33 AE 16")


class TestPublishedFrames:
    def test_read_address_request(self) -> None:
        frame = decode_frame(READ_ADDRESS)
        assert frame == Frame("AAAAAAAAAAAA", 0x13)
        assert encode_frame(dlt645.address_request()) == READ_ADDRESS

    def test_energy_request_with_preamble(self) -> None:
        frame = decode_frame(ENERGY_REQUEST)
        assert frame.address == "000000000161"
        assert frame.data == h("00 00 01 00")
        req = dlt645.read_request("000000000161", DI_FORWARD_ACTIVE_ENERGY)
        assert encode_frame(req, preamble=4) == ENERGY_REQUEST

    def test_wildcard_energy_request(self) -> None:
        req = dlt645.read_request(dlt645.WILDCARD_ADDRESS, DI_FORWARD_ACTIVE_ENERGY)
        assert encode_frame(req) == WILDCARD_ENERGY_REQUEST

    def test_energy_reply(self) -> None:
        frame = decode_frame(ENERGY_REPLY)
        assert (frame.is_reply, frame.is_error, frame.more_follows) == (True, False, False)
        reply = dlt645.interpret(frame)
        assert reply is not None and reply.reading is not None
        assert reply.reading.value == Decimal("0.26")
        assert reply.reading.unit == "kWh"

    def test_voltage_reply(self) -> None:
        reply = dlt645.interpret(decode_frame(VOLTAGE_REPLY))
        assert reply is not None and reply.reading is not None
        assert reply.reading.value == Decimal("100.1")
        assert reply.reading.unit == "V"


class TestValues:
    @pytest.mark.parametrize(
        ("di", "value", "raw"),
        [
            (DI_FORWARD_ACTIVE_ENERGY, Decimal("123456.78"), h("78 56 34 12")),
            (DI_VOLTAGE_A, Decimal("750.0"), h("00 75")),
            (DI_CURRENT_A, Decimal("100.000"), h("00 00 10")),
            (DI_CURRENT_A, Decimal("-1.500"), h("00 15 80")),
            (DI_TOTAL_ACTIVE_POWER, Decimal("75.0000"), h("00 00 75")),
            (DI_TOTAL_ACTIVE_POWER, Decimal("-0.0010"), h("10 00 80")),
            (DI_DATE, dt.date(2026, 11, 25), h("03 25 11 26")),  # Wednesday = 03
            (DI_TIME, dt.time(16, 10, 11), h("11 10 16")),
        ],
    )
    def test_round_trip(self, di: int, value: dlt645.Value, raw: bytes) -> None:
        item = dlt645.DATA_ITEMS[di]
        assert dlt645.encode_value(item, value) == raw
        assert dlt645.decode_value(item, raw) == value

    def test_out_of_range_refused(self) -> None:
        with pytest.raises(ValueError):
            dlt645.encode_value(dlt645.DATA_ITEMS[DI_TOTAL_ACTIVE_POWER], Decimal("120"))
        with pytest.raises(ValueError):
            dlt645.encode_value(dlt645.DATA_ITEMS[DI_VOLTAGE_A], Decimal("1000.0"))

    def test_bad_bcd_value(self) -> None:
        with pytest.raises(BadBcdDigit, match="bad BCD digit: byte 7A"):
            dlt645.decode_value(dlt645.DATA_ITEMS[DI_VOLTAGE_A], h("7A 01"))

    def test_impossible_date_is_bad_bcd(self) -> None:
        with pytest.raises(BadBcdDigit):
            dlt645.decode_value(dlt645.DATA_ITEMS[DI_DATE], h("03 32 13 26"))


class TestFrameErrors:
    @pytest.mark.parametrize(
        ("raw", "error", "message"),
        [
            (b"", TruncatedFrame, "truncated"),
            (h("FE FE"), TruncatedFrame, "truncated"),
            (h("69 AA AA AA AA AA AA 68 13 00 DF 16"), BadStartByte, "bad start: expected 68"),
            (h("68 AA AA AA AA AA AA 67 13 00 DF 16"), BadStartByte, "after the address"),
            (h("68 AA AA AA AA AA AA 68 13 00 DF"), TruncatedFrame, "truncated"),
            (h("68 AA AA AA AA AA AA 68 13 00 DE 16"), BadChecksum, "expected DF, got DE"),
            (h("68 AA AA AA AA AA AA 68 13 00 DF 17"), BadEndByte, "expected 16, got 17"),
            (h("68 AA AA AA AA AA AA 68 13 00 DF 16 00"), LengthMismatch, "stray"),
            (h("68 AA AA AA AA AA AA 68 13 01 33 DF 00 16"), LengthMismatch, "L=1"),
            (h("68 AB AA AA AA AA AA 68 13 00 E0 16"), BadBcdDigit, "address"),
        ],
    )
    def test_reason(self, raw: bytes, error: type[FrameError], message: str) -> None:
        with pytest.raises(error, match=message) as info:
            decode_frame(raw)
        assert isinstance(info.value, ValueError)
        assert "\n" not in str(info.value)

    def test_checksum_error_carries_values(self) -> None:
        with pytest.raises(BadChecksum) as info:
            decode_frame(h("68 AA AA AA AA AA AA 68 13 00 00 16"))
        assert (info.value.expected, info.value.got) == (0xDF, 0x00)


@st.composite
def nearly_valid_frames(draw: st.DrawFn) -> bytes:
    """Valid frames with a few bytes mutated: reaches the deep error paths."""
    data = draw(st.binary(max_size=20))
    address = draw(st.text("0123456789", min_size=12, max_size=12))
    raw = bytearray(
        encode_frame(
            Frame(address, draw(st.integers(0, 255)), data), preamble=draw(st.integers(0, 4))
        )
    )
    for _ in range(draw(st.integers(0, 3))):
        raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
    return bytes(raw)


@settings(deadline=None)
@given(st.one_of(st.binary(max_size=64), nearly_valid_frames()))
def test_fuzz_decode_frame_only_raises_frame_error(raw: bytes) -> None:
    try:
        frame = decode_frame(raw)
    except FrameError:
        return
    # A frame that decodes re-encodes to the same bytes (minus preamble) ...
    assert encode_frame(frame) == raw.lstrip(b"\xfe")
    # ... and describing or interpreting it only fails with FrameError too.
    try:
        dlt645.describe(frame)
        dlt645.interpret(frame)
    except FrameError:
        pass


@settings(deadline=None)
@given(st.binary(max_size=64))
def test_fuzz_frame_complete_never_raises(raw: bytes) -> None:
    assert dlt645.frame_complete(raw) in (True, False)


class TestCli:
    def run(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
        code = dlt645.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    def test_decode_energy_reply(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = self.run(capsys, "decode", ENERGY_REPLY.hex())
        assert code == 0
        doc = json.loads(out)
        assert doc["address"] == "000000000161"
        assert doc["control"] == "0x91"
        assert doc["reply"] is True and doc["error"] is False
        assert doc["data_identifier"] == "00010000"
        assert (doc["value"], doc["unit"]) == ("0.26", "kWh")

    def test_decode_error_reply_names_bits(self, capsys: pytest.CaptureFixture[str]) -> None:
        frame = dlt645.error_reply(
            "000012345678", ErrorBit.NO_DATA_REQUESTED | ErrorBit.UNAUTHORISED
        )
        code, out, _ = self.run(capsys, "decode", encode_frame(frame).hex(" "))
        assert code == 0
        doc = json.loads(out)
        assert doc["error"] is True
        assert doc["error_bits"] == ["no_data_requested", "unauthorised"]

    def test_bad_frame_one_line_reason(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, err = self.run(capsys, "decode", "68 AA AA AA AA AA AA 68 13 00 DE 16")
        assert code == 1 and out == ""
        assert err == "error: bad checksum: expected DF, got DE\n"

    def test_not_hex(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, _, err = self.run(capsys, "decode", "zz")
        assert code == 1 and err.startswith("error: not hex")

    def test_module_entry_point(self) -> None:
        proc = subprocess.run(
            [sys.executable, "-m", "app.devices.dlt645", "decode", *READ_ADDRESS.hex(" ").split()],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["function"] == "read_address"


class FakeLink:
    """A scripted FrameLink: checks each request byte for byte, plays a reply."""

    def __init__(self, script: list[tuple[bytes, bytes | None]]) -> None:
        self.script = list(script)

    def transact(self, request: bytes, *, expect_reply: bool = True) -> bytes:
        expected, reply = self.script.pop(0)
        assert request == expected, f"sent {request.hex(' ')}, expected {expected.hex(' ')}"
        if not expect_reply:
            return b""
        if reply is None:
            raise DeviceTimeout("silent")
        return reply


ADDR = "000012345678"


def wire(frame: Frame) -> bytes:
    return encode_frame(frame, preamble=4)


class TestDriver:
    def test_read_address_then_energy(self) -> None:
        link = FakeLink(
            [
                (wire(dlt645.address_request()), wire(dlt645.address_reply(ADDR))),
                (
                    h("FE FE FE FE 68 78 56 34 12 00 00 68 11 04 33 33 34 33 C6 16"),
                    encode_frame(
                        dlt645.read_reply(ADDR, DI_FORWARD_ACTIVE_ENERGY, Decimal("1234.56"))
                    ),
                ),
            ]
        )
        meter = Dlt645Meter(link)
        assert meter.read_address() == ADDR
        assert meter.read_energy() == Decimal("1234.56")
        assert not link.script

    def test_all_quantities(self) -> None:
        now = dt.datetime(2026, 11, 25, 23, 59, 58)
        values = {
            DI_VOLTAGE_A: Decimal("750.0"),
            DI_CURRENT_A: Decimal("100.000"),
            DI_TOTAL_ACTIVE_POWER: Decimal("75.0000"),
        }
        script = [
            (wire(dlt645.read_request(ADDR, di)), wire(dlt645.read_reply(ADDR, di, v)))
            for di, v in values.items()
        ]
        for di, v in ((DI_DATE, now.date()), (DI_TIME, now.time()), (DI_DATE, now.date())):
            script.append(
                (wire(dlt645.read_request(ADDR, di)), wire(dlt645.read_reply(ADDR, di, v)))
            )
        meter = Dlt645Meter(FakeLink(script), ADDR)
        assert meter.read_voltage() == Decimal("750.0")
        assert meter.read_current() == Decimal("100.000")
        assert meter.read_power() == Decimal("75.0000")
        assert meter.read_datetime() == now

    def test_bus_glitch_before_reply_is_skipped(self) -> None:
        request = wire(dlt645.read_request(ADDR, DI_VOLTAGE_A))
        reply = b"\x00\xff" + wire(dlt645.read_reply(ADDR, DI_VOLTAGE_A, Decimal("230.0")))
        assert dlt645.frame_complete(reply) and not dlt645.frame_complete(reply[:-1])
        with pytest.raises(BadStartByte):
            decode_frame(reply)  # the codec stays strict ...
        link = FakeLink([(request, reply)])
        assert Dlt645Meter(link, ADDR).read_voltage() == Decimal("230.0")  # ... the driver copes

    def test_error_reply_not_retried(self) -> None:
        request = wire(dlt645.read_request(ADDR, DI_VOLTAGE_A))
        link = FakeLink([(request, wire(dlt645.error_reply(ADDR, ErrorBit.NO_DATA_REQUESTED)))])
        with pytest.raises(Dlt645ErrorReply) as info:
            Dlt645Meter(link, ADDR).read_voltage()
        assert isinstance(info.value, MeterErrorReply)
        assert info.value.reasons == ("no_data_requested",)
        assert info.value.bits == ErrorBit.NO_DATA_REQUESTED
        assert not link.script

    def test_timeouts_retried_then_raise(self) -> None:
        request = wire(dlt645.read_request(ADDR, DI_VOLTAGE_A))
        link = FakeLink([(request, None)] * 3)
        with pytest.raises(MeterTimeout, match="did not answer after 3 tries"):
            Dlt645Meter(link, ADDR, retries=2).read_voltage()

    def test_garbled_then_good(self) -> None:
        request = wire(dlt645.read_request(ADDR, DI_VOLTAGE_A))
        good = wire(dlt645.read_reply(ADDR, DI_VOLTAGE_A, Decimal("230.1")))
        bad = good[:-2] + bytes([(good[-2] + 1) & 0xFF]) + good[-1:]
        link = FakeLink([(request, bad), (request, good)])
        assert Dlt645Meter(link, ADDR).read_voltage() == Decimal("230.1")

    def test_wrong_di_or_address_is_protocol_error(self) -> None:
        request = wire(dlt645.read_request(ADDR, DI_VOLTAGE_A))
        wrong_di = wire(dlt645.read_reply(ADDR, DI_CURRENT_A, Decimal("1")))
        wrong_addr = wire(dlt645.read_reply("000000000001", DI_VOLTAGE_A, Decimal("1")))
        link = FakeLink([(request, wrong_di), (request, wrong_addr)])
        with pytest.raises(MeterProtocolError, match="address 000000000001"):
            Dlt645Meter(link, ADDR, retries=1).read_voltage()

    def test_time_sync_broadcast(self) -> None:
        when = dt.datetime(2026, 11, 25, 16, 10, 11)
        expected = h("FE FE FE FE 68 99 99 99 99 99 99 68 08 06 44 43 49 58 44 59 ") + bytes(2)
        frame = dlt645.time_sync_frame(when)
        raw = encode_frame(frame, preamble=4)
        assert raw[:-2] == expected[:-2]
        assert dlt645.decode_time_sync(decode_frame(raw)) == when
        link = FakeLink([(raw, None)])
        Dlt645Meter(link, ADDR).sync_time(when)
        assert not link.script


class TestSerialLink:
    def test_loop_port_reads_exactly_one_frame(self) -> None:
        """On loop:// the written frame comes back; the link stops at its end byte."""
        port = serial.serial_for_url("loop://", timeout=0.5)
        try:
            link = SerialFrameLink(port, dlt645.frame_complete, timeout=0.5)
            assert link.transact(ENERGY_REQUEST) == ENERGY_REQUEST
        finally:
            port.close()

    def test_meter_over_loop_sees_its_own_request(self) -> None:
        """An echoing RS-485 adapter: the driver must not take the echo for a reply."""
        port = serial.serial_for_url("loop://", timeout=0.2)
        try:
            link = SerialFrameLink(port, dlt645.frame_complete, timeout=0.2)
            with pytest.raises(MeterProtocolError, match="unexpected reply"):
                Dlt645Meter(link, ADDR, retries=0).read_energy()
        finally:
            port.close()


def test_meter_over_a_real_pty() -> None:
    """Dlt645Meter.over_serial on a pty, a thread playing the meter byte for byte.

    8N1 here only because Linux ptys reject PARENB; real adapters take 8E1.
    """
    master, slave = os.openpty()
    tty.setraw(slave)
    request = h("FE FE FE FE 68 78 56 34 12 00 00 68 11 04 33 33 34 33 C6 16")
    reply = encode_frame(
        dlt645.read_reply(ADDR, DI_FORWARD_ACTIVE_ENERGY, Decimal("42.17")), preamble=2
    )
    received = bytearray()

    def play_meter() -> None:
        while len(received) < len(request):
            chunk = os.read(master, 64)
            if not chunk:
                return
            received.extend(chunk)
        os.write(master, reply[:5])  # a meter answers in bursts at 2400 baud
        os.write(master, reply[5:])

    thread = threading.Thread(target=play_meter, daemon=True)
    thread.start()
    meter = Dlt645Meter.over_serial(os.ttyname(slave), ADDR, parity="N")
    try:
        assert meter.read_energy() == Decimal("42.17")
        assert bytes(received) == request
    finally:
        meter.link.port.close()  # type: ignore[attr-defined]
        thread.join(timeout=5)
        os.close(master)
        os.close(slave)
