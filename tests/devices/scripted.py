"""A scripted serial port for byte-exact driver tests (pymeasure ``expected_protocol`` style).

Why not loop://: a loop port echoes what the driver writes, but the tests
need the *device's* answer to each exact command.  The script is a list of
``(bytes the driver must write, bytes the device answers)``; any deviation
fails at once with both byte strings, and :meth:`ScriptedPort.assert_done`
checks that every step happened.
"""

from __future__ import annotations

import threading

import serial


class ScriptedPort(serial.SerialBase):
    """In-memory ``SerialBase`` that plays a device from a script."""

    def __init__(self, script: list[tuple[bytes, bytes]], **kwargs: object) -> None:
        self.script = list(script)
        self.written = bytearray()
        self.rx = bytearray()
        self._data = threading.Event()
        self.vanished = False
        super().__init__(**kwargs)  # type: ignore[arg-type]

    # SerialBase hooks
    def open(self) -> None:
        self.is_open = True

    def close(self) -> None:
        self.is_open = False

    def _reconfigure_port(self) -> None:
        pass

    @property
    def in_waiting(self) -> int:
        return len(self.rx)

    def reset_input_buffer(self) -> None:
        self.rx.clear()

    def reset_output_buffer(self) -> None:
        pass

    def flush(self) -> None:
        pass

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.vanished:
            raise serial.SerialException("write failed: [Errno 5] Input/output error")
        self.written += data
        while self.script and self.written.startswith(self.script[0][0]):
            expected, reply = self.script.pop(0)
            del self.written[: len(expected)]
            self.rx += reply
        if self.written and not any(
            step[0].startswith(bytes(self.written)) for step in self.script[:1]
        ):
            nxt = self.script[0][0] if self.script else b"<end of script>"
            raise AssertionError(f"driver wrote {bytes(self.written)!r}, expected {nxt!r}")
        return len(data)

    def read(self, size: int = 1) -> bytes:
        if self.vanished:
            raise serial.SerialException("device reports readiness to read but returned no data")
        if not self.rx:
            # Block like a real port would, but return early (empty) at the timeout.
            self._data.wait(self.timeout or 0)
        out = bytes(self.rx[:size])
        del self.rx[:size]
        return out

    def assert_done(self) -> None:
        assert not self.script, f"script steps not reached: {self.script[:2]!r}"
        assert not self.written, f"unexpected extra bytes written: {bytes(self.written)!r}"
