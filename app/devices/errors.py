"""Exception hierarchy shared by every driver in the instrument layer.

Why one module: the verification procedure catches a handful of *kinds* of
failure (the cable was pulled, the device stopped answering, the bytes were
garbled, the device refused) whatever the protocol was, so each protocol
module subclasses these instead of inventing parallel trees.  Every message is
a single line that an inspector or a regulator can act on.
"""

from __future__ import annotations

import serial

try:  # a pulled cable surfaces from tcflush as termios.error, which is not an OSError
    import termios

    PORT_ERRORS: tuple[type[BaseException], ...] = (
        serial.SerialException,
        OSError,
        termios.error,
    )
except ImportError:  # Windows
    PORT_ERRORS = (serial.SerialException, OSError)
"""What pyserial raises when the USB device or the pty master is gone."""


class DeviceError(Exception):
    """Base class of every failure raised by ``app.devices``."""


class FrameError(DeviceError, ValueError):
    """Bytes (or a text line) that do not form a valid frame.

    Subclasses ``ValueError`` because it is raised by pure decoders
    (``decode_frame``) that are also used on untrusted input such as a hex
    string typed on the command line.
    """


class TruncatedFrame(FrameError):
    """The buffer ends before the frame does."""


class BadStartByte(FrameError):
    """A start delimiter is missing or wrong."""


class BadEndByte(FrameError):
    """The end delimiter is missing or wrong."""


class BadChecksum(FrameError):
    """The checksum or CRC carried by the frame does not match its contents."""

    def __init__(self, expected: int, got: int, width: int = 2) -> None:
        self.expected = expected
        self.got = got
        super().__init__(f"bad checksum: expected {expected:0{width}X}, got {got:0{width}X}")


class LengthMismatch(FrameError):
    """A length field disagrees with the number of bytes present."""


class BadBcdDigit(FrameError):
    """A BCD-coded field contains a nibble above 9."""


class UnexpectedReply(FrameError):
    """A well-formed frame that does not answer the request that was sent."""


class DeviceTimeout(DeviceError, TimeoutError):
    """The device did not answer within the timeout, after all retries."""


class DeviceDisconnected(DeviceError, ConnectionError):
    """The port vanished: USB cable pulled, rig powered off, pty master closed.

    pyserial reports this as ``SerialException`` or ``OSError`` from
    ``read``/``write``; drivers translate it to this class so callers can
    offer "reconnect and resume" instead of a generic failure.
    """


class MeterError(DeviceError):
    """Base class of failures talking to the meter under test."""


class MeterTimeout(MeterError, DeviceTimeout):
    """The meter under test did not answer (check RS-485 wiring, address, baud rate)."""


class MeterProtocolError(MeterError):
    """The meter kept answering with frames that are garbled or do not match the request."""


class MeterErrorReply(MeterError):
    """The meter answered, but refused: a DL/T 645 0xD1 reply or a Modbus exception.

    Not retried: asking again gets the same answer.  ``reasons`` holds the
    named error bits or exception code so the UI can say e.g.
    "no_data_requested" rather than a number.
    """

    def __init__(self, message: str, reasons: tuple[str, ...]) -> None:
        self.reasons = reasons
        super().__init__(message)
