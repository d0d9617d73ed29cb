"""Rig discovery: USB id matching, *IDN? probing, explicit paths (the simulator's pty)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from serial.tools.list_ports_common import ListPortInfo

from app.devices.discovery import (
    DEFAULT_USB_IDS,
    FoundRig,
    find_rigs,
    parse_usb_ids,
    probe,
    usb_ids_from_env,
)
from app.devices.rig import Rig
from app.devices.simulator import RigSimulator


@pytest.fixture
def sim_path() -> Iterator[str]:
    with RigSimulator(seed=1) as sim:
        assert sim.path is not None
        yield sim.path


def usb_port(device: str, vid: int, pid: int) -> ListPortInfo:
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid, info.description = vid, pid, "USB serial"
    return info


def test_parse_usb_ids() -> None:
    assert parse_usb_ids("0483:5740, 1a86:7523") == ((0x0483, 0x5740), (0x1A86, 0x7523))
    with pytest.raises(ValueError, match="VID:PID"):
        parse_usb_ids("0483")


def test_usb_ids_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVM_RIG_USB_IDS", raising=False)
    assert usb_ids_from_env() == DEFAULT_USB_IDS
    monkeypatch.setenv("EVM_RIG_USB_IDS", "1234:abcd")
    assert usb_ids_from_env() == ((0x1234, 0xABCD),)


def test_usb_id_match_needs_no_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVM_RIG_PORTS", raising=False)
    ports = [
        usb_port("/dev/nonexistent-rig", 0x0483, 0x5740),
        usb_port("/dev/nonexistent-other", 0x1A86, 0x7523),  # probed: absent → skipped
        ListPortInfo("/dev/ttyS0", skip_link_detection=True),  # no USB id: never probed
    ]
    found = find_rigs(ports=ports, timeout=0.05)
    assert found == [FoundRig("/dev/nonexistent-rig", "usb-id", None, "USB serial")]


def test_probe_finds_simulator_by_explicit_path(sim_path: str) -> None:
    found = find_rigs(ports=[], explicit=[sim_path])
    assert len(found) == 1
    assert found[0].source == "explicit"
    assert found[0].identity is not None and found[0].identity.model == "VLR-1000"


def test_env_paths_and_probe_of_bridge(sim_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVM_RIG_PORTS", sim_path)
    assert [f.path for f in find_rigs(ports=[])] == [sim_path]
    # A rig behind a generic USB bridge (unknown id) is found by probing.
    found = find_rigs(ports=[usb_port(sim_path, 0x1A86, 0x7523)])
    assert [(f.path, f.source) for f in found] == [(sim_path, "probe")]


def test_probe_after_driver_enabled_checksums(sim_path: str) -> None:
    rig = Rig.from_path(sim_path)
    rig.connect()  # leaves the rig in CRC mode
    rig.close()
    identity = probe(sim_path)
    assert identity is not None and identity.vendor == "EVMETRO"


def test_probe_absent_port() -> None:
    assert probe("/dev/does-not-exist", timeout=0.05) is None
