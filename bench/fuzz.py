"""Long fuzz runs of every parser that reads bytes from outside (issue 13, item 7).

Each parser documents the one error type it raises on bad input (``verify-bundle``
documents none: it puts every problem into its verdict). This runs each parser on
mutations of valid inputs for N seconds and prints, per parser, the inputs tried, the
uncaught exceptions (anything but the documented type) and the hangs (one input taking
longer than ``--hang`` seconds), next to the target: 0 and 0.

    .venv/bin/python bench/fuzz.py --seconds 60            # ~1 minute per parser
    .venv/bin/python bench/fuzz.py --seconds 600           # the acceptance run: 10 minutes each
    .venv/bin/python bench/fuzz.py --only ocmf --seconds 30 --seed 7

Exit status 1 when any parser had an uncaught exception or a hang; the first few
offending inputs are written to ``--out`` (default ``/tmp/fuzz-findings``) as
``<parser>-<n>.bin`` to replay. The same targets and mutators run, bounded, in the
test suite (tests/test_fuzz_parsers.py; field packages in tests/planning/test_field_seal.py).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import random
import signal
import sys
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.devices import dlt645, modbus  # noqa: E402
from app.devices.errors import FrameError  # noqa: E402
from ledger import merkle, ocmf, tiles  # noqa: E402
from ledger.bundle import BundleInputs, LoggedEntry, build_bundle  # noqa: E402
from ledger.bundle_verify import verify_bundle  # noqa: E402
from ledger.keys import SigningKey  # noqa: E402
from ledger.note import (  # noqa: E402
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    generate_signer,
    open_checkpoint,
    parse_note,
    sign_checkpoint,
)
from ledger.records import Record, RecordError, sign_record  # noqa: E402
from ledger.tlog_proof import (  # noqa: E402
    TlogProofError,
    format_tlog_proof,
    parse_tlog_proof,
    verify_tlog_proof,
)

OCMF_DATA = ROOT / "tests" / "data" / "ocmf"
ORIGIN = "fuzz.evmetrology.example/log"
T0 = 1_767_225_600_000


# ---- a small signed log to take valid inputs from ------------------------------------


@dataclass(frozen=True)
class Log:
    vkey: str
    note: bytes
    entries: tuple[bytes, ...]
    proofs: tuple[bytes, ...]
    bundle: bytes


@cache
def small_log() -> Log:
    """A deterministic log: authority, operator, station, pile, meter, sessions, bills."""
    auth = SigningKey.from_seed("p256", b"fuzz-auth")
    oper = SigningKey.from_seed("ed25519", b"fuzz-oper")
    meter = SigningKey.from_seed("p256", b"fuzz-meter")
    enc = "x25519:" + base64.b64encode(bytes(range(32))).decode()
    bodies = [
        ("authority", {"authority_id": "HZ", "name": "局", "key": auth.public_key.text,
                       "enc_key": enc, "at_ms": T0}, auth),
        ("operator", {"operator_id": "OP1", "name": "运营商", "key": oper.public_key.text,
                      "at_ms": T0}, auth),
        ("station", {"station_id": "ST1", "operator_id": "OP1", "name": "站", "district": "西湖区",
                     "lon_e6": 120_140_000, "lat_e6": 30_250_000, "at_ms": T0}, oper),
        ("pile", {"pile_id": "P1", "station_id": "ST1", "operator_id": "OP1", "kind": "DC",
                  "rated_power_w": 120_000, "rated_voltage_v": 750, "connectors": 1,
                  "commissioned_ms": T0, "at_ms": T0}, oper),
        ("meter", {"meter_id": "M1", "pile_id": "P1", "operator_id": "OP1", "connector": 1,
                   "accuracy_class": "1", "key": meter.public_key.text, "heartbeat_s": 900,
                   "installed_ms": T0, "at_ms": T0}, oper),
        ("tariff", {"tariff_id": "T1", "operator_id": "OP1", "station_id": "ST1",
                    "valid_from_ms": T0, "at_ms": T0,
                    "periods": [{"start_min": 0, "end_min": 1440, "energy_e4": 9000,
                                 "service_e4": 6000}]}, oper),
    ]  # fmt: skip
    for n in range(3):
        start = T0 + n * 7_200_000
        bodies.append(
            (
                "session",
                {
                    "session_id": f"S{n}",
                    "meter_id": "M1",
                    "pile_id": "P1",
                    "connector": 1,
                    "start_ms": start,
                    "stop_ms": start + 3_600_000,
                    "start_wh": 1_000 * n,
                    "stop_wh": 1_000 * n + 900,
                    "energy_wh": 900,
                    "interval_s": 600,
                    "power_w": [900] * 6,
                },
                meter,
            )
        )
        bodies.append(
            (
                "billing",
                {
                    "session_id": f"S{n}",
                    "operator_id": "OP1",
                    "pile_id": "P1",
                    "tariff_id": "T1",
                    "billed_wh": 900,
                    "energy_fen": 81,
                    "service_fen": 54,
                    "amount_fen": 135,
                    "start_ms": start,
                    "stop_ms": start + 3_600_000,
                },
                oper,
            )
        )
    records = [sign_record(t, b, k) for t, b, k in bodies]
    entries = tuple(r.to_bytes() for r in records)
    tree = merkle.MemoryTree(merkle.leaf_hashes(list(entries)))
    skey, vkey = _log_key()
    note = sign_checkpoint(Checkpoint(ORIGIN, tree.size, tree.root(tree.size)), Signer(skey))
    proofs = tuple(
        format_tlog_proof(i, tree.inclusion_proof(i, tree.size), note) for i in range(tree.size)
    )
    ocmf_items = []
    for path in sorted(OCMF_DATA.glob("*.ocmf"))[:2]:
        text = path.read_text().strip()
        key = path.with_suffix(".pubkey").read_text().strip()
        serial = ocmf.parse_ocmf(text).meter_serial
        ocmf_items.append(ocmf.OcmfBundleItem(path.stem, text.encode(), key, serial, True))
    subject_at = next(i for i, r in enumerate(records) if r.type == "session")
    logged = [
        LoggedEntry(i, entries[i], proofs[i], "subject" if i == subject_at else "registry")
        for i in (0, 1, 4, subject_at)
    ]
    inputs = BundleInputs({"kind": "session", "session_id": "S0"}, vkey, note, logged)
    inputs.ocmf = ocmf_items
    return Log(vkey, note, entries, proofs, build_bundle(inputs, {"README.txt": b"fuzz\n"}))


@cache
def _log_key() -> tuple[str, str]:
    return generate_signer(ORIGIN)


# ---- targets --------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A parser: valid seeds, the call, and the exception types it documents."""

    name: str
    seeds: Callable[[], list[bytes]]
    call: Callable[[bytes], object]
    allowed: tuple[type[BaseException], ...]


def _records_seeds() -> list[bytes]:
    return list(small_log().entries)


def _note_seeds() -> list[bytes]:
    log = small_log()
    theirs = sorted(p.read_bytes() for p in (ROOT / "tests/data/note").glob("*.checkpoint"))
    return [log.note, *theirs]


def _open_note(data: bytes) -> object:
    log = small_log()
    text, _signatures = parse_note(data)
    with contextlib.suppress(NoteError):  # the body too, as tlog-proof does, before any key
        Checkpoint.parse(text)
    return open_checkpoint(data, Verifier(log.vkey), ORIGIN)


def _tile_seeds() -> list[bytes]:
    log = small_log()
    paths = [tiles.tile_path(0, 1234567), tiles.entries_path(5, 7), tiles.tile_path(3, 0, 9)]
    return [tiles.encode_bundle(list(log.entries))] + [p.encode() for p in paths]


def _tiles(data: bytes) -> object:
    """Entry bundles and tile paths (both served by a platform we do not trust)."""
    if data.startswith(b"tile/"):
        return tiles.parse_tile_path(data.decode("utf-8", "surrogateescape"))
    return tiles.decode_bundle(data)


def _proof_seeds() -> list[bytes]:
    log = small_log()
    theirs = (ROOT / "tests/data/note/sigsum-gentest-5-index-2.tlog-proof").read_bytes()
    return [*log.proofs, theirs]


def _proof(data: bytes) -> object:
    log = small_log()
    index = parse_tlog_proof(data).index
    return verify_tlog_proof(data, log.entries[index % len(log.entries)], [Verifier(log.vkey)])


def _ocmf_seeds() -> list[bytes]:
    out = [p.read_bytes() for p in sorted(OCMF_DATA.glob("*.ocmf"))]
    out += [p.read_bytes() for p in sorted(OCMF_DATA.glob("*.json"))]
    return out


@cache
def _ocmf_key() -> str:
    return (OCMF_DATA / "keba-kcp30.pubkey").read_text().strip()


def _ocmf(data: bytes) -> object:
    """The record parser, the OCPP SignedMeterValue parser, the verifier, the totals."""
    if data.lstrip().startswith(b"{"):
        record, _key = ocmf.parse_signed_meter_value(data.decode("utf-8", "replace"))
    else:
        record = ocmf.parse_ocmf(data)
    ocmf.session_energy([record])
    with contextlib.suppress(ocmf.OcmfSignatureError):
        ocmf.verify_ocmf(record, _ocmf_key())
    return record


def _dlt645_seeds() -> list[bytes]:
    frames = [
        dlt645.Frame("123456789012", 0x11, bytes([0x00, 0x00, 0x01, 0x00])),
        dlt645.Frame("123456789012", 0x91, bytes([0x00, 0x00, 0x01, 0x00, 0x45, 0x23, 0x01, 0x00])),
        dlt645.Frame("AAAAAAAAAAAA", 0x13, b""),
        dlt645.Frame("123456789012", 0xD1, b"\x02"),
    ]
    return [dlt645.encode_frame(f, preamble=p) for f, p in zip(frames, (4, 0, 2, 0), strict=True)]


def _dlt645(data: bytes) -> object:
    dlt645.frame_complete(data)
    frame = dlt645.decode_frame(data)
    item = dlt645.DATA_ITEMS.get(int.from_bytes(frame.data[:4], "little"))
    if item is not None:
        dlt645.decode_value(item, frame.data[4:])
    return frame


def _modbus_seeds() -> list[bytes]:
    return [
        modbus.encode_frame(modbus.ReadRequest(1, 3, 0, 10)),
        modbus.encode_frame(modbus.ReadResponse(1, 4, (1, 2, 3, 65535))),
        modbus.encode_frame(modbus.ExceptionResponse(7, 3, 2)),
    ]


def _modbus(data: bytes) -> object:
    modbus.response_complete(data)
    modbus.request_complete(data)
    with contextlib.suppress(FrameError):
        modbus.decode_frame(data, from_master=True)
    return modbus.decode_frame(data)


def _bundle_seeds() -> list[bytes]:
    return [small_log().bundle]


def _bundle(data: bytes) -> object:
    result = verify_bundle(data, small_log().vkey)
    internal = [c for c in result.checks if "internal error" in c.en]
    if internal:  # the fail-closed guard caught something a parser let escape
        raise RuntimeError(internal[0].en)
    return result


@cache
def _package_dir() -> Path:
    """An office, one sealed field package exported from it, and a laptop that pinned
    the office's key by opening it once: every mutation is then judged on its seal."""
    import tempfile

    from app.models.field_package import export_field_package, open_field_package
    from app.models.workorders import create_work_order
    from tests.planning.conftest import make_office

    work = Path(tempfile.mkdtemp(prefix="fuzz-package-"))
    office = make_office(f"sqlite:///{work / 'office.sqlite'}")
    with office.store.transaction() as conn:
        order = create_work_order(conn, office.regulator, ["P3", "P8"], "li", reassign=True)
    export_field_package(office.store, office.inspector, order, work / "pkg.sqlite", key_dir=work)
    (work / "laptop").mkdir()
    open_field_package(work / "pkg.sqlite", trust_dir=work / "laptop").close()
    return work


def _package_seeds() -> list[bytes]:
    return [(_package_dir() / "pkg.sqlite").read_bytes()]


def _package(data: bytes) -> None:
    from app.models.field_package import open_field_package

    work = _package_dir()
    trial = work / "trial.sqlite"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{trial}{suffix}").unlink(missing_ok=True)
    trial.write_bytes(data)
    open_field_package(trial, trust_dir=work / "laptop").close()


def _package_error() -> tuple[type[BaseException], ...]:
    from app.models.field_package import PackageError

    return (PackageError,)


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("records", _records_seeds, Record.parse, (RecordError,)),
        Target("notes", _note_seeds, _open_note, (NoteError,)),
        Target("tiles", _tile_seeds, _tiles, (ValueError,)),
        Target("tlog-proof", _proof_seeds, _proof, (TlogProofError, NoteError)),
        Target("ocmf", _ocmf_seeds, _ocmf, (ocmf.OcmfError,)),
        Target("dlt645", _dlt645_seeds, _dlt645, (FrameError,)),
        Target("modbus", _modbus_seeds, _modbus, (FrameError,)),
        Target("verify-bundle", _bundle_seeds, _bundle, ()),
        Target("field-package", _package_seeds, _package, _package_error()),
    )
}


# ---- mutation -------------------------------------------------------------------------

TOKENS: tuple[bytes, ...] = (
    b"\x00", b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\\u0000", b"\\ud800", b"-", b"0",
    b"9" * 5000, b"1e999999", b"-0", b"1.5", b"NaN", b"Infinity", b"[" * 3000, b"{\"a\":" * 3000,
    b"]" * 50, b"}", b"\"", b"|", b"\n", b"\n\n", b" ", b"\t", b"=", b"/", b"+", b"x000/",
    b"\xe2\x80\x94", b"OCMF|", b"true", b"null", b"2" * 40, b"\x68", b"\x16", b"\xfe" * 8,
)  # fmt: skip


def mutate(rng: random.Random, data: bytes, others: Sequence[bytes]) -> bytes:
    """One to eight random edits of ``data``: bit flips, byte changes, insertions of
    interesting tokens, deletions, duplications, truncation, splices with other seeds,
    and for zips, edits inside one member (recompressed or stored) so the checks past
    the zip layer get exercised too."""
    if data[:2] == b"PK" and rng.random() < 0.5:
        return _mutate_zip(rng, data, others)
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(9)
        pos = rng.randint(0, len(buf))
        if op == 0 and buf:
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif op == 2:
            buf[pos:pos] = rng.choice(TOKENS)
        elif op == 3 and buf:
            end = min(len(buf), pos + rng.randint(1, 64))
            del buf[pos:end]
        elif op == 4 and buf:
            end = min(len(buf), pos + rng.randint(1, 64))
            buf[pos:pos] = buf[pos:end] * rng.randint(1, 20)
        elif op == 5:
            del buf[pos:]
        elif op == 6 and others:
            other = rng.choice(others)
            cut = rng.randint(0, len(other))
            buf[pos:] = other[cut:]
        elif op == 7 and buf:
            i = rng.randrange(len(buf))
            buf[i] = rng.choice(b'0123456789{}[]":,|-+/=\n ')
        elif op == 8:
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return bytes(buf)


def _mutate_zip(rng: random.Random, data: bytes, others: Sequence[bytes]) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = [(i, zf.read(i)) for i in zf.infolist()]
    except Exception:  # a broken zip is mutated as plain bytes
        return mutate(rng, data[2:], others)
    if not members:
        return data
    out = io.BytesIO()
    victim = rng.randrange(len(members))
    with zipfile.ZipFile(out, "w") as zf:
        for n, (info, body) in enumerate(members):
            if n == victim:
                body = mutate(rng, body, [b for _, b in members])
            info.compress_type = rng.choice((zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED))
            zf.writestr(info, body)
    raw = bytearray(out.getvalue())
    if rng.random() < 0.3 and raw:  # and sometimes break the container as well
        raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
    return bytes(raw)


# ---- running ----------------------------------------------------------------------------


class Hang(Exception):
    """One input ran longer than the hang limit."""


@dataclass
class Tally:
    inputs: int = 0
    uncaught: int = 0
    hangs: int = 0
    first: str = ""


def run_one(target: Target, data: bytes) -> BaseException | None:
    """The exception ``target`` let escape for ``data`` (None when it kept its contract)."""
    try:
        target.call(data)
    except target.allowed:
        return None
    except Hang:
        raise
    except Exception as exc:  # exactly what is being counted
        return exc
    return None


def _on_alarm(_signum: int, _frame: object) -> None:
    raise Hang


def fuzz(target: Target, seconds: float, seed: int, hang: float, out: Path) -> Tally:
    rng = random.Random(seed)
    seeds = target.seeds()
    tally = Tally()
    deadline = time.monotonic() + seconds
    signal.signal(signal.SIGALRM, _on_alarm)
    while time.monotonic() < deadline:
        data = mutate(rng, rng.choice(seeds), seeds)
        tally.inputs += 1
        signal.setitimer(signal.ITIMER_REAL, hang)
        try:
            exc = run_one(target, data)
        except Hang:
            exc, tally.hangs = None, tally.hangs + 1
            _save(out, target.name, tally.hangs + tally.uncaught, data)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if exc is not None:
            tally.uncaught += 1
            if not tally.first:
                tally.first = f"{type(exc).__name__}: {str(exc)[:120]}"
            if tally.uncaught <= 5:
                _save(out, target.name, tally.uncaught + tally.hangs, data)
    return tally


def _save(out: Path, name: str, n: int, data: bytes) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}-{n}.bin").write_bytes(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="per parser")
    parser.add_argument("--only", action="append", choices=sorted(TARGETS), help="repeatable")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hang", type=float, default=2.0, help="seconds one input may take")
    parser.add_argument("--out", type=Path, default=Path("/tmp/fuzz-findings"))
    args = parser.parse_args(argv)
    failed = False
    print(
        f"{'parser':<14} {'inputs':>9} {'uncaught':>9} {'hangs':>6}   target: 0 uncaught, 0 hangs"
    )
    for name in args.only or list(TARGETS):
        tally = fuzz(TARGETS[name], args.seconds, args.seed, args.hang, args.out)
        failed |= bool(tally.uncaught or tally.hangs)
        note = f"   first: {tally.first}" if tally.first else ""
        print(
            f"{name:<14} {tally.inputs:>9} {tally.uncaught:>9} {tally.hangs:>6}{note}", flush=True
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
