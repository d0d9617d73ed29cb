"""Find virtual-load rigs: by USB id, by probing with ``*IDN?``, or by explicit path.

Why three ways: a production rig enumerates as a USB CDC-ACM port with a
known VID:PID (fast, no bytes sent); rigs behind a generic USB-serial bridge
(CH340, FTDI...) only show the bridge's id, so candidate USB ports are
probed with ``*IDN?`` at a short timeout; the simulator's pty has no USB
id at all, so explicit paths (or ``EVM_RIG_PORTS``) are accepted.

Probing sends bytes, so it is limited to USB serial ports (never the
on-board ``/dev/ttyS*``) and to explicit paths.

Configuration (environment, for field laptops and tests):

* ``EVM_RIG_USB_IDS``: comma-separated ``VID:PID`` hex pairs recognised as
  rigs without probing; default ``0483:5740`` (CDC-ACM id of our rig's MCU).
* ``EVM_RIG_PORTS``: extra paths (``os.pathsep``-separated) always probed,
  e.g. a simulator pty.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import serial
from serial.tools import list_ports
from serial.tools.list_ports_common import ListPortInfo

from app.devices.errors import DeviceError
from app.devices.rig import BAUDRATE, GarbledFrame, Identity, strip_line_crc

__all__ = [
    "DEFAULT_USB_IDS",
    "FoundRig",
    "find_rigs",
    "parse_usb_ids",
    "probe",
    "usb_ids_from_env",
]

DEFAULT_USB_IDS: tuple[tuple[int, int], ...] = ((0x0483, 0x5740),)
#: Models whose identification we accept when probing an unknown port.
RIG_VENDORS = ("EVMETRO",)


@dataclass(frozen=True)
class FoundRig:
    """A port that is (probably) a rig.

    ``source`` is ``"usb-id"`` (matched VID:PID, not probed unless
    ``identity`` is set), ``"probe"`` (answered ``*IDN?``) or ``"explicit"``.
    """

    path: str
    source: str
    identity: Identity | None = None
    description: str = ""


def parse_usb_ids(text: str) -> tuple[tuple[int, int], ...]:
    """``"0483:5740,1a86:7523"`` → ((0x0483, 0x5740), (0x1A86, 0x7523))."""
    ids = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        vid, sep, pid = item.partition(":")
        if not sep:
            raise ValueError(f"USB id must be VID:PID in hex, got {item!r}")
        ids.append((int(vid, 16), int(pid, 16)))
    return tuple(ids)


def usb_ids_from_env() -> tuple[tuple[int, int], ...]:
    text = os.environ.get("EVM_RIG_USB_IDS", "")
    return parse_usb_ids(text) if text.strip() else DEFAULT_USB_IDS


def probe(path: str, *, timeout: float = 0.3) -> Identity | None:
    """Open ``path``, ask ``*IDN?`` once, return the identity if it is one of our rigs.

    Never raises for a port that is busy, absent or silent: discovery must
    survive whatever else is plugged into the laptop.
    """
    try:
        port = serial.serial_for_url(path, baudrate=BAUDRATE, timeout=timeout)
    except (serial.SerialException, OSError, ValueError):
        return None
    try:
        port.reset_input_buffer()
        port.write(b"\n*IDN?\n")
        port.flush()
        line = port.read_until(b"\n", 256)
        if not line.endswith(b"\n"):
            return None
        text = line.decode("ascii", "replace").strip()
        if "|" in text:  # the rig is still in CRC mode from an earlier session
            text = strip_line_crc(text)
        identity = Identity.parse(text)
    except (serial.SerialException, OSError, GarbledFrame, DeviceError):
        return None
    finally:
        with contextlib.suppress(serial.SerialException, OSError):
            port.close()
    return identity if identity.vendor in RIG_VENDORS else None


def _is_usb(info: ListPortInfo) -> bool:
    return info.vid is not None


def find_rigs(
    *,
    usb_ids: Sequence[tuple[int, int]] | None = None,
    explicit: Iterable[str] = (),
    probe_usb: bool = True,
    identify_usb_matches: bool = False,
    timeout: float = 0.3,
    ports: Sequence[ListPortInfo] | None = None,
) -> list[FoundRig]:
    """Rigs on this machine, USB-id matches first.

    ``ports`` defaults to ``serial.tools.list_ports.comports()`` (injectable
    for tests).  USB ports with a matching id are returned without talking to
    them unless ``identify_usb_matches``; other USB serial ports are probed
    if ``probe_usb``; ``explicit`` paths and ``EVM_RIG_PORTS`` are always
    probed.
    """
    ids = set(usb_ids if usb_ids is not None else usb_ids_from_env())
    found: list[FoundRig] = []
    seen: set[str] = set()
    for info in ports if ports is not None else list_ports.comports():
        if not _is_usb(info):
            continue
        seen.add(info.device)
        if (info.vid, info.pid) in ids:
            identity = probe(info.device, timeout=timeout) if identify_usb_matches else None
            found.append(FoundRig(info.device, "usb-id", identity, info.description or ""))
        elif probe_usb:
            identity = probe(info.device, timeout=timeout)
            if identity is not None:
                found.append(FoundRig(info.device, "probe", identity, info.description or ""))
    env_paths = [p for p in os.environ.get("EVM_RIG_PORTS", "").split(os.pathsep) if p]
    for path in [*explicit, *env_paths]:
        if path in seen:
            continue
        seen.add(path)
        identity = probe(path, timeout=timeout)
        if identity is not None:
            found.append(FoundRig(path, "explicit", identity))
    return found
