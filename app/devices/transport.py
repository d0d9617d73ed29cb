"""Byte transports that carry one request frame and return one reply frame.

Why an abstraction: the meter under test is reached either directly (a USB
RS-485 adapter on the laptop) or *through the rig* (``MTR:RAW?``, the rig
forwards the bytes on its own RS-485 port).  The DL/T 645 and Modbus drivers
only need "send these bytes, give me the reply bytes", so they depend on the
small :class:`FrameLink` protocol and work over both paths unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import serial

from app.devices.errors import DeviceDisconnected, DeviceTimeout

#: Given the bytes received so far, return True once they hold a complete
#: reply (or are hopeless, so that the decoder can say why).
CompletenessCheck = Callable[[bytes], bool]


class FrameLink(Protocol):
    """One request, one reply: what a meter driver needs from a transport."""

    def transact(self, request: bytes, *, expect_reply: bool = True) -> bytes:
        """Send ``request`` and return the raw reply bytes.

        Raises :class:`DeviceTimeout` when no complete reply arrives in time
        and :class:`DeviceDisconnected` when the port has gone.  With
        ``expect_reply=False`` (broadcasts) returns ``b""`` right after sending.
        """
        ...


class SerialFrameLink:
    """A :class:`FrameLink` over a pyserial port (e.g. a USB RS-485 adapter).

    The port must already be open and configured (DL/T 645 meters usually
    want 2400 or 9600 baud, 8E1).  ``complete`` tells when a reply is whole,
    because RS-485 has no framing of its own beyond silence.
    """

    def __init__(
        self,
        port: serial.SerialBase,
        complete: CompletenessCheck,
        *,
        timeout: float = 1.0,
        inter_byte_timeout: float = 0.2,
    ) -> None:
        self.port = port
        self.complete = complete
        self.timeout = timeout
        self.inter_byte_timeout = inter_byte_timeout

    def transact(self, request: bytes, *, expect_reply: bool = True) -> bytes:
        try:
            self.port.reset_input_buffer()
            self.port.write(request)
            self.port.flush()
            if not expect_reply:
                return b""
            return self._read_reply()
        except (serial.SerialException, OSError) as exc:
            raise DeviceDisconnected(f"serial port {self.port.port!r} vanished: {exc}") from exc

    def _read_reply(self) -> bytes:
        deadline = time.monotonic() + self.timeout
        buf = bytearray()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self.port.timeout = min(remaining, self.inter_byte_timeout) if buf else remaining
            chunk = self.port.read(max(1, self.port.in_waiting))
            if chunk:
                buf += chunk
                if self.complete(bytes(buf)):
                    return bytes(buf)
            elif buf:
                # Silence after some bytes: the sender has finished (RS-485
                # framing by silence); let the decoder judge what we have.
                return bytes(buf)
        if buf:
            return bytes(buf)
        raise DeviceTimeout(f"no reply on {self.port.port!r} within {self.timeout:g} s")


def open_serial_link(
    path: str,
    complete: CompletenessCheck,
    *,
    baudrate: int = 2400,
    parity: str = serial.PARITY_EVEN,
    timeout: float = 1.0,
) -> SerialFrameLink:
    """Open a USB RS-485 adapter wired straight to the meter (no rig in between).

    Defaults are DL/T 645's 2400 baud 8E1; Modbus meters are usually 9600 8N1.
    Only opens the port: nothing is sent until the first request.
    """
    try:
        port = serial.serial_for_url(
            path, baudrate=baudrate, parity=parity, bytesize=8, stopbits=1, timeout=timeout
        )
    except (serial.SerialException, OSError) as exc:
        raise DeviceDisconnected(f"cannot open {path!r}: {exc}") from exc
    return SerialFrameLink(port, complete, timeout=timeout)
