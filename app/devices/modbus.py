"""Modbus RTU codec and a small energy-meter driver (many DC pile meters speak it).

Frames (RTU ADU)::

    request  (03/04): unit fn  start_hi start_lo  count_hi count_lo  crc_lo crc_hi
    response (03/04): unit fn  byte_count  data(2*count, big-endian words)  crc_lo crc_hi
    exception:        unit fn|0x80  exception_code  crc_lo crc_hi

CRC is CRC-16/MODBUS (reflected poly 0xA001, init 0xFFFF) over everything
before it, sent low byte first.

Register map (:class:`RegisterMap`, the default matches the simulator and a
common DC-meter layout; adjust per meter model):

========  =====================  ========  ===========  =================
register  quantity               type      scale        unit
========  =====================  ========  ===========  =================
0x0000    forward active energy  uint32    0.01         kWh
0x0002    voltage                uint16    0.1          V
0x0003    current                int32     0.001        A
0x0005    active power           int32     1            W
========  =====================  ========  ===========  =================

32-bit values are two registers, high word first.  Energy is a uint32 count
of 0.01 kWh rather than a 32-bit float on purpose: a float32 has 24 bits of
mantissa, so above ~167 772 kWh it can no longer represent 0.01 kWh steps and
the error computed from two readings would be rounding noise; an integer
count is exact (up to 42 949 672.95 kWh) and decodes straight to a Decimal.
All seven registers are read in one request so the values are a consistent
snapshot.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from app.devices.errors import (
    BadChecksum,
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
    "ExceptionCode",
    "ExceptionResponse",
    "ModbusExceptionReply",
    "ModbusMeter",
    "ModbusSnapshot",
    "ReadRequest",
    "ReadResponse",
    "RegisterMap",
    "UnsupportedFunction",
    "crc16",
    "decode_frame",
    "encode_frame",
    "response_complete",
]

READ_HOLDING_REGISTERS = 0x03
READ_INPUT_REGISTERS = 0x04
READ_FUNCTIONS = (READ_HOLDING_REGISTERS, READ_INPUT_REGISTERS)
MAX_READ_COUNT = 125  # Modbus spec limit for 03/04


class UnsupportedFunction(FrameError):
    """A function code this codec does not handle (only 03/04 and exceptions)."""


class ExceptionCode(enum.IntEnum):
    """Modbus exception codes (Modbus Application Protocol v1.1b3, section 7)."""

    ILLEGAL_FUNCTION = 0x01
    ILLEGAL_DATA_ADDRESS = 0x02
    ILLEGAL_DATA_VALUE = 0x03
    SERVER_DEVICE_FAILURE = 0x04
    ACKNOWLEDGE = 0x05
    SERVER_DEVICE_BUSY = 0x06
    MEMORY_PARITY_ERROR = 0x08
    GATEWAY_PATH_UNAVAILABLE = 0x0A
    GATEWAY_TARGET_FAILED_TO_RESPOND = 0x0B


def exception_name(code: int) -> str:
    try:
        return ExceptionCode(code).name.lower()
    except ValueError:
        return f"exception_{code:02x}"


def crc16(data: bytes) -> int:
    """CRC-16/MODBUS of ``data`` (check value of b"123456789" is 0x4B37)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def _with_crc(pdu: bytes) -> bytes:
    return pdu + crc16(pdu).to_bytes(2, "little")


@dataclass(frozen=True)
class ReadRequest:
    """03/04 read request from the master."""

    unit: int
    function: int
    address: int
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.unit <= 247:
            raise ValueError(f"unit id must be 1..247, got {self.unit}")
        if self.function not in READ_FUNCTIONS:
            raise ValueError(f"function must be 03 or 04, got {self.function:02X}")
        if not 0 <= self.address <= 0xFFFF or not 1 <= self.count <= MAX_READ_COUNT:
            raise ValueError(f"bad register range {self.address}+{self.count}")


@dataclass(frozen=True)
class ReadResponse:
    """03/04 normal response: the register values (16-bit, unsigned)."""

    unit: int
    function: int
    registers: tuple[int, ...]


@dataclass(frozen=True)
class ExceptionResponse:
    """An exception response (function | 0x80, one exception code)."""

    unit: int
    function: int
    code: int

    @property
    def name(self) -> str:
        return exception_name(self.code)


Frame = ReadRequest | ReadResponse | ExceptionResponse


def encode_frame(frame: Frame) -> bytes:
    """RTU bytes (with CRC) of a request, response or exception."""
    if isinstance(frame, ReadRequest):
        pdu = bytes([frame.unit, frame.function]) + frame.address.to_bytes(2, "big")
        return _with_crc(pdu + frame.count.to_bytes(2, "big"))
    if isinstance(frame, ReadResponse):
        data = b"".join(r.to_bytes(2, "big") for r in frame.registers)
        return _with_crc(bytes([frame.unit, frame.function, len(data)]) + data)
    return _with_crc(bytes([frame.unit, frame.function | 0x80, frame.code]))


def _check_crc(raw: bytes) -> None:
    expected = crc16(raw[:-2])
    got = int.from_bytes(raw[-2:], "little")
    if expected != got:
        raise BadChecksum(expected, got, width=4)


def decode_frame(raw: bytes, *, from_master: bool = False) -> Frame:
    """Parse one RTU frame.

    RTU frames do not say whether they are requests or responses, so the
    caller does: by default ``raw`` is what a meter sent (response or
    exception); ``from_master=True`` parses a read request (the simulator's
    side).  Raises only :class:`FrameError` subclasses.
    """
    if len(raw) < 4:
        raise TruncatedFrame(f"truncated: {len(raw)} bytes, a frame has at least 4")
    unit, function = raw[0], raw[1]
    if from_master:
        if function not in READ_FUNCTIONS:
            raise UnsupportedFunction(f"unsupported function {function:02X}")
        if len(raw) != 8:
            raise LengthMismatch(f"length mismatch: a read request has 8 bytes, got {len(raw)}")
        _check_crc(raw)
        try:
            return ReadRequest(
                unit,
                function,
                int.from_bytes(raw[2:4], "big"),
                int.from_bytes(raw[4:6], "big"),
            )
        except ValueError as exc:
            raise UnexpectedReply(f"invalid request: {exc}") from exc
    if function & 0x80:
        if len(raw) < 5:
            raise TruncatedFrame(f"truncated: an exception has 5 bytes, got {len(raw)}")
        if len(raw) > 5:
            raise LengthMismatch(f"length mismatch: an exception has 5 bytes, got {len(raw)}")
        _check_crc(raw)
        return ExceptionResponse(unit, function & 0x7F, raw[2])
    if function not in READ_FUNCTIONS:
        raise UnsupportedFunction(f"unsupported function {function:02X}")
    byte_count = raw[2]
    if len(raw) < 5 + byte_count:
        raise TruncatedFrame(f"truncated: byte count {byte_count} needs {5 + byte_count} bytes")
    if len(raw) != 5 + byte_count:
        raise LengthMismatch(
            f"length mismatch: byte count {byte_count} but {len(raw) - 5} data bytes"
        )
    _check_crc(raw)
    if byte_count % 2:
        raise LengthMismatch(f"length mismatch: odd byte count {byte_count}")
    data = raw[3:-2]
    registers = tuple(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))
    return ReadResponse(unit, function, registers)


def response_complete(buf: bytes) -> bool:
    """True once ``buf`` holds a whole response (for SerialFrameLink)."""
    if len(buf) < 3:
        return False
    if buf[1] & 0x80:
        return len(buf) >= 5
    if buf[1] not in READ_FUNCTIONS:
        return True
    return len(buf) >= 5 + buf[2]


def request_complete(buf: bytes) -> bool:
    """True once ``buf`` holds a whole 8-byte read request (for a responder)."""
    return len(buf) >= 8


# --------------------------------------------------------------------------- meter


@dataclass(frozen=True)
class RegisterMap:
    """Where a meter keeps its quantities; see the module docstring for the default."""

    function: int = READ_HOLDING_REGISTERS
    base: int = 0x0000
    energy_offset: int = 0  # uint32, 0.01 kWh
    voltage_offset: int = 2  # uint16, 0.1 V
    current_offset: int = 3  # int32, 0.001 A
    power_offset: int = 5  # int32, W
    count: int = 7


@dataclass(frozen=True)
class ModbusSnapshot:
    """All quantities from one read, so they belong to the same instant."""

    energy_kwh: Decimal
    voltage_v: Decimal
    current_a: Decimal
    power_kw: Decimal


def _u32(regs: tuple[int, ...], i: int) -> int:
    return (regs[i] << 16) | regs[i + 1]


def _s32(regs: tuple[int, ...], i: int) -> int:
    value = _u32(regs, i)
    return value - (1 << 32) if value & 0x80000000 else value


def snapshot_registers(
    energy_kwh: Decimal, voltage_v: Decimal, current_a: Decimal, power_w: Decimal
) -> tuple[int, ...]:
    """Encode the default map's seven registers (used by the simulator and tests)."""
    energy = int(energy_kwh * 100) & 0xFFFFFFFF
    current = int((current_a * 1000).to_integral_value()) & 0xFFFFFFFF
    power = int(power_w.to_integral_value()) & 0xFFFFFFFF
    voltage = min(int((voltage_v * 10).to_integral_value()), 0xFFFF)
    return (
        energy >> 16,
        energy & 0xFFFF,
        voltage,
        current >> 16,
        current & 0xFFFF,
        power >> 16,
        power & 0xFFFF,
    )


class ModbusExceptionReply(MeterErrorReply):
    """The meter answered with a Modbus exception (e.g. illegal_data_address)."""

    def __init__(self, code: int) -> None:
        self.code = code
        name = exception_name(code)
        super().__init__(f"meter refused the read: Modbus exception {code:02X} {name}", (name,))


class ModbusMeter:
    """A Modbus RTU meter over any FrameLink (direct RS-485 or the rig's ``MTR:RAW?``).

    Same discipline as :class:`~app.devices.dlt645.Dlt645Meter`: timeouts and
    garbled or mismatched replies are retried ``retries`` times, then raise
    :class:`MeterTimeout` / :class:`MeterProtocolError`; an exception
    response raises :class:`ModbusExceptionReply` at once.
    """

    def __init__(
        self,
        link: FrameLink,
        unit: int = 1,
        *,
        register_map: RegisterMap | None = None,
        retries: int = 2,
    ) -> None:
        self.link = link
        self.unit = unit
        self.map = register_map or RegisterMap()
        self.retries = retries

    @classmethod
    def over_serial(
        cls, path: str, unit: int = 1, *, baudrate: int = 9600, parity: str = "N", retries: int = 2
    ) -> ModbusMeter:
        """A meter on a USB RS-485 adapter at ``path``; opens the port only."""
        link = open_serial_link(path, response_complete, baudrate=baudrate, parity=parity)
        return cls(link, unit, retries=retries)

    def read_registers(
        self, address: int, count: int, function: int | None = None
    ) -> tuple[int, ...]:
        """Read ``count`` registers starting at ``address`` (03 or 04)."""
        request = ReadRequest(self.unit, function or self.map.function, address, count)
        wire = encode_frame(request)

        def check(reply: Frame) -> tuple[int, ...]:
            if reply.unit != self.unit:
                raise UnexpectedReply(f"unexpected reply: from unit {reply.unit}")
            if isinstance(reply, ExceptionResponse):
                if reply.function != request.function:
                    raise UnexpectedReply(f"unexpected reply: exception to {reply.function:02X}")
                raise ModbusExceptionReply(reply.code)
            if not isinstance(reply, ReadResponse) or reply.function != request.function:
                raise UnexpectedReply("unexpected reply: wrong function")
            if len(reply.registers) != count:
                raise UnexpectedReply(f"unexpected reply: {len(reply.registers)} registers")
            return reply.registers

        return self._exchange(wire, check)

    def _exchange(self, wire: bytes, check: Callable[[Frame], tuple[int, ...]]) -> tuple[int, ...]:
        last: Exception | None = None
        for _attempt in range(self.retries + 1):
            try:
                return check(decode_frame(self.link.transact(wire)))
            except (DeviceTimeout, FrameError) as exc:
                last = exc
        if isinstance(last, DeviceTimeout):
            raise MeterTimeout(
                f"Modbus unit {self.unit} did not answer after {self.retries + 1} tries"
            ) from last
        raise MeterProtocolError(f"Modbus unit {self.unit}: {last}") from last

    def read_snapshot(self) -> ModbusSnapshot:
        """Energy, voltage, current and power from one request."""
        m = self.map
        regs = self.read_registers(m.base, m.count)
        return ModbusSnapshot(
            energy_kwh=Decimal(_u32(regs, m.energy_offset)).scaleb(-2),
            voltage_v=Decimal(regs[m.voltage_offset]).scaleb(-1),
            current_a=Decimal(_s32(regs, m.current_offset)).scaleb(-3),
            power_kw=Decimal(_s32(regs, m.power_offset)).scaleb(-3),
        )

    def read_energy(self) -> Decimal:
        """Forward active energy, kWh (0.01 kWh resolution)."""
        return self.read_snapshot().energy_kwh

    def read_voltage(self) -> Decimal:
        return self.read_snapshot().voltage_v

    def read_current(self) -> Decimal:
        return self.read_snapshot().current_a

    def read_power(self) -> Decimal:
        """Active power, kW."""
        return self.read_snapshot().power_kw
