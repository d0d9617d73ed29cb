"""The suspension list end to end: a real platform (`python -m ledger serve`) on loopback,
the ride-hailing platform's client recomputing it from the log, and a lying server (a
loopback proxy this test controls) serving tampered, truncated and replayed lists."""

from __future__ import annotations

import base64
import http.server
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from dataclasses import replace

import pytest

from ledger.client import FetchError
from ledger.note import Signer, sign_note
from ledger.taxi.client import Refused, fetch_list, verify
from ledger.taxi.feed import StatusDocument
from ledger.taxi.status import TaxiStatus
from tests.taxi.town import DAY, T0, Town
from tests.world import ROOT, PlatformProcess, get, ndjson, post

EXPECTED = {
    "浙A·V0001": "valid",
    "浙A·F0002": "failed",
    "浙A·D0003": "drift_suspected",
    "浙A·U0004": "unverified",
    "浙A·S0005": "seal_broken",
}


def _town_records(town: Town) -> list:
    records = town.registry()
    for n, plate in enumerate(EXPECTED, 1):
        records += town.taxi(plate, f"JJ-{n}", f"TERM{n}")
    records.append(town.verification("浙A·V0001", "JJ-1", T0, "2026-12-31"))
    records.append(town.verification("浙A·F0002", "JJ-2", T0, "2026-12-31", result="fail"))
    records.append(town.verification("浙A·D0003", "JJ-3", T0, "2026-12-31"))
    records.append(town.verification("浙A·S0005", "JJ-5", T0, "2026-12-31"))
    for i in range(20):
        records += town.trip("浙A·D0003", "JJ-3", "TERM3", T0 + DAY + i, 10_200, 10_000)
        records += town.trip("浙A·V0001", "JJ-1", "TERM1", T0 + DAY + i, 10_050, 10_000)
    records.append(town.seal("浙A·S0005", "JJ-5", "TERM5", T0 + DAY, "opened"))
    return records


def _post_and_wait(platform: PlatformProcess, records: list) -> int:
    status, answer = post(platform.url, ndjson(records))
    assert status == 200, answer
    size = answer["first_index"] + len(records)
    get(f"{platform.url}/checkpoint?after={size - 1}&wait=20")  # long-poll: no sleeping
    return size


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    proc = PlatformProcess(tmp_path_factory.mktemp("taxi") / "platform")
    town = Town()
    records = _town_records(town)
    # The list before the last entry (the seal event) is served once, so the platform
    # holds it for ``since``.
    _post_and_wait(proc, records[:-1])
    fetch_list(proc.url, None)
    proc.size = _post_and_wait(proc, records[-1:])
    proc.town = town
    yield proc
    proc.stop()


class _Proxy(http.server.ThreadingHTTPServer):
    """Forwards every GET to the platform, but answers /taxi/status with ``override``
    when one is set: the lying server of these tests."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        self.upstream, self.override = upstream, None
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Proxy

    def do_GET(self) -> None:
        if self.path.startswith("/taxi/status") and self.server.override is not None:
            status, body = 200, self.server.override
        else:
            try:
                with urllib.request.urlopen(self.server.upstream + self.path, timeout=20) as r:
                    status, body = r.status, r.read()
            except urllib.error.HTTPError as exc:
                status, body = exc.code, exc.read()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def proxy(platform):
    server = _Proxy(platform.url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def _resign(platform: PlatformProcess, document: StatusDocument) -> bytes:
    """A list signed with the platform's own log key: a lying platform, not a MITM."""
    signer = Signer((platform.data / "log.key").read_text().strip())
    return sign_note(document.text(), signer)


def _genuine(platform: PlatformProcess, since: int | None = None) -> tuple[bytes, StatusDocument]:
    from ledger.note import Verifier, open_note

    data = fetch_list(platform.url, since)
    return data, StatusDocument.parse(open_note(data, Verifier(platform.vkey())).text)


def _cli(url: str, vkey: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "ledger",
            "taxi-status",
            "--platform",
            url,
            "--log-key",
            vkey,
            *extra,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


# ---- the honest platform ---------------------------------------------------------------


def test_recomputed_statuses_equal_the_served_list_for_every_taxi(platform):
    data, served = _genuine(platform)
    accepted = verify(platform.url, platform.vkey(), data)
    assert served.size == platform.size
    assert [s.line() for s in accepted.statuses] == list(served.lines)
    assert {s.plate: s.status for s in accepted.statuses} == EXPECTED


def test_the_changes_since_a_sequence_are_verified(platform):
    since = platform.size - 1  # the seal event was the last entry
    data, served = _genuine(platform, since)
    accepted = verify(platform.url, platform.vkey(), data, since)
    assert [(s.plate, s.status) for s in accepted.changed] == [("浙A·S0005", "seal_broken")]
    assert served.since == since


def test_the_cli_prints_the_verified_list_and_keeps_its_state(platform, tmp_path):
    state = tmp_path / "state.json"
    run = _cli(platform.url, str(platform.data / "log.vkey"), "--state", str(state))
    assert run.returncode == 0, run.stderr
    assert "浙A·F0002\tJJ-2\tfailed\tSUSPEND" in run.stdout
    assert "浙A·V0001\tJJ-1\tvalid\tok" in run.stdout
    assert state.exists()


# ---- a lying server ----------------------------------------------------------------------


def test_a_status_changed_in_transit_fails_the_signature(platform, proxy):
    data, _ = _genuine(platform)
    proxy.override = data.replace("浙A·F0002 JJ-2 failed".encode(), "浙A·F0002 JJ-2 valid".encode())
    assert proxy.override != data
    run = _cli(proxy.url, platform.vkey())
    assert run.returncode == 1
    assert "REFUSED" in run.stderr and "not signed by the log key" in run.stderr


def test_a_status_changed_and_resigned_by_the_platform_is_refused(platform, proxy):
    _, document = _genuine(platform)
    lines = [
        TaxiStatus(s.plate, s.meter_serial, "valid", s.evidence).line()
        if s.plate == "浙A·F0002"
        else s.line()
        for s in document.statuses()
    ]
    proxy.override = _resign(platform, replace(document, lines=tuple(lines)))
    run = _cli(proxy.url, platform.vkey())
    assert run.returncode == 1
    assert "taxi 浙A·F0002 is served as valid" in run.stderr
    assert "the log says failed" in run.stderr


def test_a_dropped_taxi_is_refused(platform, proxy):
    _, document = _genuine(platform)
    lines = tuple(line for line in document.lines if not line.startswith("浙A·D0003 "))
    data = _resign(platform, replace(document, lines=lines))
    with pytest.raises(Refused, match="leaves out taxi 浙A·D0003"):
        verify(proxy.url, platform.vkey(), data)


def test_a_changes_list_that_hides_a_change_is_refused(platform, proxy):
    since = platform.size - 1
    _, document = _genuine(platform, since)
    data = _resign(platform, replace(document, lines=()))
    with pytest.raises(Refused, match=r"changes since \d+ leaves out taxi 浙A·S0005"):
        verify(proxy.url, platform.vkey(), data, since)


def test_a_wrong_as_of_time_is_refused(platform, proxy):
    _, document = _genuine(platform)
    data = _resign(platform, replace(document, as_of_ms=document.as_of_ms + 400 * DAY))
    with pytest.raises(Refused, match="as-of time"):
        verify(proxy.url, platform.vkey(), data)


def test_a_list_from_another_log_key_is_refused(platform):
    from ledger.note import generate_signer

    _skey, other = generate_signer(platform.vkey().split("+")[0])  # same log name, other key
    run = _cli(platform.url, other)
    assert run.returncode == 1 and "not signed by the log key" in run.stderr


def test_a_log_that_forked_from_what_the_client_saw_is_refused(platform):
    data, document = _genuine(platform)
    seen = {"size": document.size - 3, "root": base64.b64encode(b"\x01" * 32).decode()}
    with pytest.raises(Refused, match="not consistent with the log seen before"):
        verify(platform.url, platform.vkey(), data, state={**seen, "as_of_ms": 0})


def test_an_unreachable_platform_is_exit_3(tmp_path, platform):
    run = _cli("http://127.0.0.1:9", platform.vkey())
    assert run.returncode == 3 and "unavailable" in run.stderr


def test_an_old_list_replayed_is_refused(tmp_path):
    """Its own platform: this test grows the log."""
    platform = PlatformProcess(tmp_path / "platform")
    server = _Proxy(platform.url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        town = Town()
        size = _post_and_wait(platform, _town_records(town))
        state, vkey = tmp_path / "state.json", platform.vkey()
        old, _ = _genuine(platform)
        assert _cli(server.url, vkey, "--state", str(state)).returncode == 0
        # The inspector fails the valid taxi; the list moves on.
        failing = town.verification("浙A·V0001", "JJ-1", T0 + DAY, "2026-12-31", result="fail")
        assert _post_and_wait(platform, [failing]) == size + 1
        run = _cli(server.url, vkey, "--state", str(state), "--json")
        assert run.returncode == 0, run.stderr
        assert '"status": "failed"' in run.stdout
        server.override = old  # the genuine, signed, older list
        run = _cli(server.url, vkey, "--state", str(state))
        assert run.returncode == 1
        assert f"sequence {size} is older than sequence {size + 1}" in run.stderr
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        platform.stop()


def test_a_since_beyond_the_list_or_not_a_number_is_an_http_400(platform):
    with pytest.raises(FetchError, match=r"HTTP 400.*since=.* latest list is at sequence"):
        fetch_list(platform.url, platform.size + 5)
    with pytest.raises(urllib.error.HTTPError, match="400"):
        get(f"{platform.url}/taxi/status?since=%C2%B2")  # a superscript two: not a decimal


def test_the_list_is_never_taken_for_a_checkpoint(platform):
    from ledger.note import Verifier, open_checkpoint

    data, _ = _genuine(platform)
    with pytest.raises(ValueError):
        open_checkpoint(data, Verifier(platform.vkey()), platform.vkey().split("+")[0])


def test_a_stale_list_is_refused_with_max_age(platform):
    # The town's log times are 2026-01; by this machine's clock that list is stale.
    run = _cli(platform.url, platform.vkey(), "--max-age", "600")
    assert run.returncode == 1 and "stale list" in run.stderr


def test_changes_since_a_list_never_served_are_gone_and_the_cli_falls_back(platform):
    with pytest.raises(FetchError, match="HTTP 410") as info:
        fetch_list(platform.url, 3)
    assert info.value.status == 410
    run = _cli(platform.url, platform.vkey(), "--since", "3")
    assert run.returncode == 0, run.stderr
    assert "verifying the full list instead" in run.stderr
    assert "full list, 5 taxi(s)" in run.stdout
