"""DL/T 645-2007 codec and meter driver (the pile's energy meter over RS-485).

Frame layout (all multi-byte fields low byte first)::

    FE FE FE FE   68  A0 A1 A2 A3 A4 A5  68  C  L  DATA(L bytes)  CS  16
    optional      start   address (BCD)  start ctl len  +0x33 each  sum  end
    preamble

* Address: 6 bytes BCD, low byte first; we keep it as a 12-character string
  in reading order ("000012345678").  ``AAAAAAAAAAAA`` is the wildcard that
  any single meter on the bus answers; ``999999999999`` is the broadcast
  address (no reply).
* DATA bytes are sent +0x33 (mod 256) so that a frame of zeros does not look
  like line idle; :class:`Frame` holds them *without* the offset.
* CS: sum mod 256 of every byte from the first 68 to the last data byte.
* Control byte C: bit 7 direction (1 = reply from the meter), bit 6 abnormal
  reply, bit 5 more frames follow, bits 4..0 function code.  So read data is
  0x11 and answers 0x91 (normal), 0xB1 (normal, more frames follow) or 0xD1
  (error: one error byte, see :class:`ErrorBit`).  Read address is 0x13 →
  0x93; broadcast time sync is 0x08 (no reply).
* A data identifier (DI) is written DI3.DI2.DI1.DI0 (``0x00010000``) and sent
  DI0 first.

Data identifiers implemented (value bytes BCD, low byte first):

=========== =============================== ======== ===== ========= =======
DI          meaning                         format   bytes unit      signed
=========== =============================== ======== ===== ========= =======
0001 0000   forward active total energy     XXXXXX.XX 4    kWh       no
0201 0100   phase A voltage                 XXX.X     2    V         no
0202 0100   phase A current                 XXX.XXX   3    A         yes
0203 0000   total active power              XX.XXXX   3    kW        yes
0400 0101   date and weekday                YYMMDDWW  4    (date)    --
0400 0102   time                            hhmmss    3    (time)    --
=========== =============================== ======== ===== ========= =======

Signed values carry the sign in the top bit of the most significant byte
(so the top digit is 0..7).  The ranges are the standard's: voltage up to
999.9 V, current up to 799.999 A and power up to 79.9999 kW — DC meters of
bigger piles expose vendor-specific DIs, which can be added to
:data:`DATA_ITEMS`.  Many DC meters map DC voltage/current onto the phase-A
identifiers, which is what the simulator does.

CLI: ``python -m app.devices.dlt645 decode 68 AA AA AA AA AA AA 68 13 00 DF 16``
prints the frame as JSON, or a one-line reason and exit status 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import enum
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

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
    UnexpectedReply,
)
from app.devices.transport import FrameLink, open_serial_link

__all__ = [
    "BROADCAST_ADDRESS",
    "DATA_ITEMS",
    "DI_CURRENT_A",
    "DI_DATE",
    "DI_FORWARD_ACTIVE_ENERGY",
    "DI_TIME",
    "DI_TOTAL_ACTIVE_POWER",
    "DI_VOLTAGE_A",
    "WILDCARD_ADDRESS",
    "BadBcdDigit",
    "BadChecksum",
    "BadEndByte",
    "BadStartByte",
    "Control",
    "DataItem",
    "Dlt645ErrorReply",
    "Dlt645Meter",
    "ErrorBit",
    "Frame",
    "FrameError",
    "LengthMismatch",
    "MeterErrorReply",
    "MeterProtocolError",
    "MeterTimeout",
    "Reading",
    "TruncatedFrame",
    "decode_frame",
    "decode_value",
    "describe",
    "encode_frame",
    "encode_value",
    "frame_complete",
    "interpret",
    "locate_frame",
]

START = 0x68
END = 0x16
PREAMBLE = 0xFE
OFFSET = 0x33
WILDCARD_ADDRESS = "AAAAAAAAAAAA"
BROADCAST_ADDRESS = "999999999999"
#: Bytes before the first 68 that we send, as most masters do to wake up
#: RS-485 transceivers; decoders skip any number of them.
DEFAULT_PREAMBLE = 4


class Control(enum.IntEnum):
    """Function codes (bits 4..0 of C) and the full reply bytes we use."""

    BROADCAST_TIME = 0x08
    READ_DATA = 0x11
    READ_FOLLOWING = 0x12
    READ_ADDRESS = 0x13
    READ_DATA_REPLY = 0x91
    READ_DATA_REPLY_MORE = 0xB1
    READ_DATA_ERROR = 0xD1
    READ_ADDRESS_REPLY = 0x93


_FUNCTION_NAMES = {
    0x08: "broadcast_time_sync",
    0x11: "read_data",
    0x12: "read_following_data",
    0x13: "read_address",
    0x14: "write_data",
    0x15: "write_address",
    0x16: "freeze",
    0x17: "change_baud_rate",
    0x18: "change_password",
    0x19: "clear_demand",
    0x1A: "clear_meter",
    0x1B: "clear_events",
}

DIRECTION_BIT = 0x80
ERROR_BIT = 0x40
MORE_BIT = 0x20


class ErrorBit(enum.IntFlag):
    """The error byte of a 0xD1 reply (DL/T 645-2007 table "error information word")."""

    OTHER = 0x01
    NO_DATA_REQUESTED = 0x02
    UNAUTHORISED = 0x04
    BAUD_RATE_CANNOT_CHANGE = 0x08
    ANNUAL_TIME_ZONES_EXCEEDED = 0x10
    DAILY_PERIODS_EXCEEDED = 0x20
    TARIFFS_EXCEEDED = 0x40
    RESERVED = 0x80


def error_bit_names(byte: int) -> list[str]:
    """Names (lower case) of the bits set in a 0xD1 error byte, lowest bit first."""
    return [bit.name.lower() for bit in ErrorBit if byte & bit and bit.name]


# --------------------------------------------------------------------------- frames


@dataclass(frozen=True)
class Frame:
    """One DL/T 645 frame; ``data`` is the payload *without* the +0x33 offset."""

    address: str
    control: int
    data: bytes = b""

    def __post_init__(self) -> None:
        _address_to_bytes(self.address)  # validates
        object.__setattr__(self, "address", self.address.upper())
        if not 0 <= self.control <= 0xFF:
            raise ValueError(f"control byte out of range: {self.control}")
        if len(self.data) > 255:
            raise ValueError(f"data too long for one frame: {len(self.data)} bytes")

    @property
    def function(self) -> int:
        """Bits 4..0 of the control byte (0x11 read data, 0x13 read address...)."""
        return self.control & 0x1F

    @property
    def function_name(self) -> str:
        return _FUNCTION_NAMES.get(self.function, f"function_{self.function:02x}")

    @property
    def is_reply(self) -> bool:
        """Bit 7: the frame travels from the meter to the master."""
        return bool(self.control & DIRECTION_BIT)

    @property
    def is_error(self) -> bool:
        """Bit 6: abnormal reply; data is one error byte."""
        return bool(self.control & ERROR_BIT)

    @property
    def more_follows(self) -> bool:
        """Bit 5: further frames follow (read them with 0x12)."""
        return bool(self.control & MORE_BIT)


def _address_to_bytes(address: str) -> bytes:
    if len(address) != 12 or any(c not in "0123456789Aa" for c in address):
        raise ValueError(f"meter address must be 12 BCD digits (or AA wildcard), got {address!r}")
    return bytes(int(address[i : i + 2], 16) for i in range(10, -1, -2))


def _address_from_bytes(raw: bytes) -> str:
    for b in raw:
        for nibble in (b >> 4, b & 0x0F):
            if nibble > 9 and nibble != 0xA:
                raise BadBcdDigit(f"bad BCD digit in address: byte {b:02X}")
    return "".join(f"{b:02X}" for b in reversed(raw))


def _checksum(body: bytes) -> int:
    return sum(body) & 0xFF


def encode_frame(frame: Frame, *, preamble: int = 0) -> bytes:
    """Wire bytes of ``frame``, with ``preamble`` leading FE bytes."""
    body = (
        bytes([START])
        + _address_to_bytes(frame.address)
        + bytes([START, frame.control, len(frame.data)])
        + bytes((b + OFFSET) & 0xFF for b in frame.data)
    )
    return bytes([PREAMBLE]) * preamble + body + bytes([_checksum(body), END])


def _skip_preamble(raw: bytes) -> int:
    i = 0
    while i < len(raw) and raw[i] == PREAMBLE:
        i += 1
    return i


def locate_frame(buf: bytes) -> bytes:
    """``buf`` from its first 68 on (or unchanged if there is none).

    RS-485 transceivers often emit a glitch byte (00, FF...) when the bus
    turns around; the driver drops such junk before :func:`decode_frame`,
    which itself stays strict and reports it as a bad start.
    """
    i = buf.find(START)
    return buf[i:] if i > 0 else buf


def frame_complete(buf: bytes) -> bool:
    """True once ``buf`` holds a whole frame (junk before the first 68 is skipped).

    Used by :class:`~app.devices.transport.SerialFrameLink` to stop reading
    as soon as the reply is in, instead of waiting for the timeout.
    """
    i = buf.find(START)
    if i < 0:
        return False
    if len(buf) - i < 10:
        return False
    return len(buf) - i >= 12 + buf[i + 9]


def decode_frame(raw: bytes) -> Frame:
    """Parse exactly one frame (after any FE preamble) from ``raw``.

    Raises a :class:`FrameError` subclass with a one-line reason; never
    anything else, whatever the input (this is fuzzed).
    """
    i = _skip_preamble(raw)
    n = len(raw) - i
    if n == 0:
        raise TruncatedFrame("truncated: no bytes after the FE preamble")
    if raw[i] != START:
        raise BadStartByte(f"bad start: expected 68, got {raw[i]:02X}")
    if n < 12:
        raise TruncatedFrame(f"truncated: {n} bytes, a frame has at least 12")
    if raw[i + 7] != START:
        raise BadStartByte(f"bad start: expected 68 after the address, got {raw[i + 7]:02X}")
    length = raw[i + 9]
    total = 12 + length
    if n < total:
        raise TruncatedFrame(f"truncated: L={length} needs {total} bytes, got {n}")
    end = raw[i + total - 1]
    if end != END:
        if raw[-1] == END and n != total:
            raise LengthMismatch(
                f"length mismatch: L={length} but the frame carries {n - 12} data bytes"
            )
        raise BadEndByte(f"bad end byte: expected 16, got {end:02X}")
    if n != total:
        raise LengthMismatch(f"length mismatch: {n - total} stray bytes after the end byte")
    body = raw[i : i + total - 2]
    expected = _checksum(body)
    got = raw[i + total - 2]
    if expected != got:
        raise BadChecksum(expected, got)
    address = _address_from_bytes(raw[i + 1 : i + 7])
    data = bytes((b - OFFSET) & 0xFF for b in raw[i + 10 : i + 10 + length])
    return Frame(address=address, control=raw[i + 8], data=data)


# --------------------------------------------------------------------------- values


class ValueKind(enum.Enum):
    NUMBER = "number"
    DATE = "date"
    TIME = "time"


@dataclass(frozen=True)
class DataItem:
    """How one data identifier's value is coded."""

    di: int
    name: str
    length: int
    decimals: int = 0
    unit: str = ""
    signed: bool = False
    kind: ValueKind = ValueKind.NUMBER

    @property
    def di_text(self) -> str:
        """The DI as written in the standard, DI3 first: ``"00010000"``."""
        return f"{self.di:08X}"


DI_FORWARD_ACTIVE_ENERGY = 0x00010000
DI_VOLTAGE_A = 0x02010100
DI_CURRENT_A = 0x02020100
DI_TOTAL_ACTIVE_POWER = 0x02030000
DI_DATE = 0x04000101
DI_TIME = 0x04000102

DATA_ITEMS: dict[int, DataItem] = {
    item.di: item
    for item in (
        DataItem(DI_FORWARD_ACTIVE_ENERGY, "forward_active_total_energy", 4, 2, "kWh"),
        DataItem(DI_VOLTAGE_A, "phase_a_voltage", 2, 1, "V"),
        DataItem(DI_CURRENT_A, "phase_a_current", 3, 3, "A", signed=True),
        DataItem(DI_TOTAL_ACTIVE_POWER, "total_active_power", 3, 4, "kW", signed=True),
        DataItem(DI_DATE, "date", 4, kind=ValueKind.DATE),
        DataItem(DI_TIME, "time", 3, kind=ValueKind.TIME),
    )
}

Value = Decimal | dt.date | dt.time


@dataclass(frozen=True)
class Reading:
    """A decoded value read from the meter, with its unit ("" for date/time)."""

    item: DataItem
    value: Value

    @property
    def unit(self) -> str:
        return self.item.unit


def _bcd_digits(raw: bytes) -> str:
    """Digits of a low-byte-first BCD field, most significant first."""
    digits = []
    for b in reversed(raw):
        hi, lo = b >> 4, b & 0x0F
        if hi > 9 or lo > 9:
            raise BadBcdDigit(f"bad BCD digit: byte {b:02X}")
        digits.append(f"{hi}{lo}")
    return "".join(digits)


def _to_bcd(number: int, length: int) -> bytes:
    text = f"{number:0{length * 2}d}"
    if len(text) > length * 2:
        raise ValueError(f"{number} does not fit in {length} BCD bytes")
    return bytes(int(text[i : i + 2], 16) for i in range(len(text) - 2, -1, -2))


def decode_value(item: DataItem, raw: bytes) -> Value:
    """Decode the value bytes (offset already removed) of data item ``item``."""
    if len(raw) != item.length:
        raise LengthMismatch(
            f"length mismatch: {item.di_text} has {item.length} value bytes, got {len(raw)}"
        )
    if item.kind is ValueKind.NUMBER:
        negative = False
        if item.signed and raw[-1] & 0x80:
            negative = True
            raw = raw[:-1] + bytes([raw[-1] & 0x7F])
        number = Decimal(int(_bcd_digits(raw))).scaleb(-item.decimals)
        return -number if negative else number
    digits = _bcd_digits(raw)
    try:
        if item.kind is ValueKind.DATE:
            yy, mm, dd, _ww = (int(digits[k : k + 2]) for k in range(0, 8, 2))
            return dt.date(2000 + yy, mm, dd)
        hh, mi, ss = (int(digits[k : k + 2]) for k in range(0, 6, 2))
        return dt.time(hh, mi, ss)
    except ValueError as exc:
        raise BadBcdDigit(f"bad BCD digit: {digits} is not a valid {item.kind.value}") from exc


def encode_value(item: DataItem, value: Value) -> bytes:
    """Value bytes (without offset) for ``item``; the inverse of :func:`decode_value`.

    Numbers out of the format's range raise ``ValueError``: a meter would
    saturate, but silently clipping here would hide test mistakes.
    """
    if item.kind is ValueKind.NUMBER:
        if not isinstance(value, Decimal | int | float):
            raise TypeError(f"{item.di_text} needs a number")
        scaled = int((Decimal(str(value)).scaleb(item.decimals)).to_integral_value())
        magnitude = abs(scaled)
        raw = bytearray(_to_bcd(magnitude, item.length))
        if item.signed:
            if raw[-1] & 0x80:
                raise ValueError(f"{value} out of range for {item.di_text}")
            if scaled < 0:
                raw[-1] |= 0x80
        elif scaled < 0:
            raise ValueError(f"{item.di_text} cannot be negative")
        return bytes(raw)
    if item.kind is ValueKind.DATE:
        if not isinstance(value, dt.date):
            raise TypeError(f"{item.di_text} needs a date")
        week = (value.weekday() + 1) % 7  # DL/T 645: 0 = Sunday
        return _to_bcd(int(f"{value.year % 100:02d}{value.month:02d}{value.day:02d}{week:02d}"), 4)
    if not isinstance(value, dt.time):
        raise TypeError(f"{item.di_text} needs a time")
    return _to_bcd(int(f"{value.hour:02d}{value.minute:02d}{value.second:02d}"), 3)


def _di_bytes(di: int) -> bytes:
    return di.to_bytes(4, "little")


# --------------------------------------------------------------------------- frame builders


def read_request(address: str, di: int) -> Frame:
    """0x11 read data request for ``di``."""
    return Frame(address, Control.READ_DATA, _di_bytes(di))


def read_reply(address: str, di: int, value: Value, *, more: bool = False) -> Frame:
    """0x91 (or 0xB1) normal reply carrying ``value`` for a known DI."""
    control = Control.READ_DATA_REPLY_MORE if more else Control.READ_DATA_REPLY
    return Frame(address, control, _di_bytes(di) + encode_value(DATA_ITEMS[di], value))


def error_reply(address: str, bits: ErrorBit) -> Frame:
    """0xD1 abnormal reply with one error byte."""
    return Frame(address, Control.READ_DATA_ERROR, bytes([int(bits)]))


def address_request() -> Frame:
    """0x13 read address, sent to the AA wildcard (only one meter on the bus)."""
    return Frame(WILDCARD_ADDRESS, Control.READ_ADDRESS)


def address_reply(address: str) -> Frame:
    return Frame(address, Control.READ_ADDRESS_REPLY, _address_to_bytes(address))


def time_sync_frame(when: dt.datetime) -> Frame:
    """0x08 broadcast time sync: data ssmmhhDDMMYY, meters do not answer."""
    digits = when.strftime("%y%m%d%H%M%S")
    return Frame(BROADCAST_ADDRESS, Control.BROADCAST_TIME, _to_bcd(int(digits), 6))


def decode_time_sync(frame: Frame) -> dt.datetime:
    if len(frame.data) != 6:
        raise LengthMismatch(f"length mismatch: time sync carries 6 bytes, got {len(frame.data)}")
    digits = _bcd_digits(frame.data)
    try:
        return dt.datetime.strptime(digits, "%y%m%d%H%M%S")
    except ValueError as exc:
        raise BadBcdDigit(f"bad BCD digit: {digits} is not a valid date-time") from exc


# --------------------------------------------------------------------------- interpretation


@dataclass(frozen=True)
class DataReply:
    """A 0x91/0xB1 reply: the DI and its value (``reading`` None for an unknown DI)."""

    di: int
    reading: Reading | None
    raw_value: bytes


def split_di(frame: Frame) -> tuple[int, bytes]:
    if len(frame.data) < 4:
        raise TruncatedFrame(f"truncated: data has {len(frame.data)} bytes, a DI needs 4")
    return int.from_bytes(frame.data[:4], "little"), frame.data[4:]


def interpret(frame: Frame) -> DataReply | None:
    """Decode the value of a read-data reply; None for other frame types.

    Raises FrameError subclasses (bad BCD, wrong length) for malformed values.
    """
    if frame.function != Control.READ_DATA or not frame.is_reply or frame.is_error:
        return None
    di, raw = split_di(frame)
    item = DATA_ITEMS.get(di)
    reading = Reading(item, decode_value(item, raw)) if item else None
    return DataReply(di, reading, raw)


def describe(frame: Frame) -> dict[str, object]:
    """A JSON-able description of a frame (what the CLI prints)."""
    out: dict[str, object] = {
        "address": frame.address,
        "control": f"0x{frame.control:02X}",
        "function": frame.function_name,
        "direction": "meter_to_master" if frame.is_reply else "master_to_meter",
        "reply": frame.is_reply,
        "error": frame.is_error,
        "more_follows": frame.more_follows,
    }
    if frame.is_reply and frame.is_error:
        if len(frame.data) != 1:
            raise LengthMismatch(
                f"length mismatch: an error reply carries 1 byte, got {len(frame.data)}"
            )
        out["error_byte"] = f"0x{frame.data[0]:02X}"
        out["error_bits"] = error_bit_names(frame.data[0])
        return out
    if frame.function == Control.READ_DATA:
        di, raw = split_di(frame)
        out["data_identifier"] = f"{di:08X}"
        item = DATA_ITEMS.get(di)
        if item:
            out["name"] = item.name
        if frame.is_reply:
            if item:
                out["value"] = str(decode_value(item, raw))
                out["unit"] = item.unit
            else:
                out["value_hex"] = raw.hex().upper()
        elif raw:
            out["parameters_hex"] = raw.hex().upper()
    elif frame.function == Control.READ_ADDRESS and frame.is_reply:
        if len(frame.data) != 6:
            raise LengthMismatch(f"length mismatch: address reply has {len(frame.data)} bytes")
        out["meter_address"] = _address_from_bytes(frame.data)
    elif frame.function == Control.BROADCAST_TIME:
        out["time"] = decode_time_sync(frame).isoformat()
    elif frame.data:
        out["data_hex"] = frame.data.hex().upper()
    return out


# --------------------------------------------------------------------------- driver


class Dlt645ErrorReply(MeterErrorReply):
    """The meter answered 0xD1; ``bits`` says why (e.g. NO_DATA_REQUESTED)."""

    def __init__(self, di: int, bits: ErrorBit) -> None:
        self.di = di
        self.bits = bits
        names = error_bit_names(int(bits)) or ["none"]
        super().__init__(f"meter refused DI {di:08X}: {', '.join(names)}", tuple(names))


class Dlt645Meter:
    """Driver for one DL/T 645-2007 meter over any :class:`FrameLink`.

    ``address`` may stay the AA wildcard when the meter is alone on the bus
    (the usual case at a pile); :meth:`read_address` replaces it with the
    meter's real address so later replies are checked against it.

    Each request is retried ``retries`` times on a timeout or a garbled or
    mismatched reply; an error reply (0xD1) is final and raises
    :class:`Dlt645ErrorReply` at once, because asking again gets the same no.
    """

    def __init__(self, link: FrameLink, address: str = WILDCARD_ADDRESS, *, retries: int = 2):
        _address_to_bytes(address)
        self.link = link
        self.address = address.upper()
        self.retries = retries

    @classmethod
    def over_serial(
        cls,
        path: str,
        address: str = WILDCARD_ADDRESS,
        *,
        baudrate: int = 2400,
        parity: str = "E",
        retries: int = 2,
    ) -> Dlt645Meter:
        """A meter on a USB RS-485 adapter at ``path`` (8E1); opens the port only."""
        link = open_serial_link(path, frame_complete, baudrate=baudrate, parity=parity)
        return cls(link, address, retries=retries)

    def _exchange(self, request: Frame, check: Callable[[Frame], object]) -> object:
        wire = encode_frame(request, preamble=DEFAULT_PREAMBLE)
        last: Exception | None = None
        for _attempt in range(self.retries + 1):
            try:
                reply = decode_frame(locate_frame(self.link.transact(wire)))
                return check(reply)
            except DeviceTimeout as exc:
                last = exc
            except FrameError as exc:
                last = exc
        if isinstance(last, DeviceTimeout):
            raise MeterTimeout(
                f"meter {self.address} did not answer after {self.retries + 1} tries"
            ) from last
        raise MeterProtocolError(f"meter {self.address}: {last}") from last

    def _check_address(self, reply: Frame) -> None:
        if self.address != WILDCARD_ADDRESS and reply.address != self.address:
            raise UnexpectedReply(
                f"unexpected reply: from address {reply.address}, expected {self.address}"
            )

    def read_address(self) -> str:
        """Ask the (single) meter on the bus for its address and remember it."""

        def check(reply: Frame) -> str:
            if reply.control != Control.READ_ADDRESS_REPLY or len(reply.data) != 6:
                raise UnexpectedReply(f"unexpected reply: control {reply.control:02X} to 13")
            return _address_from_bytes(reply.data)

        address = self._exchange(address_request(), check)
        assert isinstance(address, str)
        self.address = address
        return address

    def read(self, di: int) -> Reading:
        """Read one data identifier listed in :data:`DATA_ITEMS`."""
        item = DATA_ITEMS[di]

        def check(reply: Frame) -> Reading:
            self._check_address(reply)
            if reply.control == Control.READ_DATA_ERROR:
                if len(reply.data) != 1:
                    raise LengthMismatch("length mismatch: error reply without one error byte")
                raise Dlt645ErrorReply(di, ErrorBit(reply.data[0]))
            if reply.control not in (Control.READ_DATA_REPLY, Control.READ_DATA_REPLY_MORE):
                raise UnexpectedReply(f"unexpected reply: control {reply.control:02X} to 11")
            got_di, raw = split_di(reply)
            if got_di != di:
                raise UnexpectedReply(f"unexpected reply: DI {got_di:08X}, asked {di:08X}")
            return Reading(item, decode_value(item, raw))

        reading = self._exchange(read_request(self.address, di), check)
        assert isinstance(reading, Reading)
        return reading

    def _number(self, di: int) -> Decimal:
        value = self.read(di).value
        assert isinstance(value, Decimal)
        return value

    def read_energy(self) -> Decimal:
        """Forward active total energy register, kWh (0.01 kWh resolution)."""
        return self._number(DI_FORWARD_ACTIVE_ENERGY)

    def read_voltage(self) -> Decimal:
        """Phase A (or DC) voltage, V."""
        return self._number(DI_VOLTAGE_A)

    def read_current(self) -> Decimal:
        """Phase A (or DC) current, A (negative when energy flows back)."""
        return self._number(DI_CURRENT_A)

    def read_power(self) -> Decimal:
        """Total active power, kW."""
        return self._number(DI_TOTAL_ACTIVE_POWER)

    def read_datetime(self) -> dt.datetime:
        """The meter's clock as a naive local date-time (Chinese meters keep CST, UTC+8).

        Date and time are two requests; if the time wrapped past midnight
        between them the pair is re-read so the result is never a day off.
        """
        for _ in range(3):
            date = self.read(DI_DATE).value
            time = self.read(DI_TIME).value
            date_after = self.read(DI_DATE).value
            assert isinstance(date, dt.date) and isinstance(time, dt.time)
            if date_after == date:
                return dt.datetime.combine(date, time)
        raise MeterProtocolError(f"meter {self.address}: date kept changing while reading")

    def sync_time(self, when: dt.datetime) -> None:
        """Broadcast time sync (0x08); meters do not answer, so nothing is checked."""
        self.link.transact(
            encode_frame(time_sync_frame(when), preamble=DEFAULT_PREAMBLE), expect_reply=False
        )


# --------------------------------------------------------------------------- CLI


def parse_hex(text: str) -> bytes:
    """Bytes from hex with or without spaces/colons (``"68 AA ..."``, ``"68aa..."``)."""
    cleaned = "".join(text.replace(":", " ").replace(",", " ").split())
    try:
        return bytes.fromhex(cleaned)
    except ValueError as exc:
        raise FrameError(f"not hex: {text!r}") from exc


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.devices.dlt645", description="DL/T 645-2007 frame tools"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    dec = sub.add_parser("decode", help="decode one frame given as hex and print it as JSON")
    dec.add_argument("hex", nargs="+", help="frame bytes in hex, spaces allowed")
    req = sub.add_parser("read-request", help="print the hex of a 0x11 read request")
    req.add_argument("di", help="data identifier, DI3 first, e.g. 00010000")
    req.add_argument("--address", default=WILDCARD_ADDRESS)
    args = parser.parse_args(argv)
    try:
        if args.command == "decode":
            frame = decode_frame(parse_hex(" ".join(args.hex)))
            print(json.dumps(describe(frame), ensure_ascii=False))
        else:
            frame = read_request(args.address, int(args.di, 16))
            print(encode_frame(frame).hex(" ").upper())
    except (FrameError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
