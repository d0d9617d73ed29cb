"""`python -m ledger taxi-status`: fetch the taxi suspension list and verify it before
acting on it — the small client a ride-hailing platform runs (docs/taxi-status.md).

Verification, in order; the first failure refuses the list (exit 1) with a message
naming what failed:

1. the note is signed by the pinned log key, and is a well-formed taxi-status document
   of that log (its origin is the key's name);
2. replay: its sequence (= tree size) and as-of time are not older than the last list
   this client accepted (``--state``);
3. its tree is the log this client saw before: a consistency proof (from the log's
   tiles) from the stored checkpoint to the list's (size, root);
4. the entries up to that size are the log's (each leaf hash checked against the
   tiles, which are checked against the root), every record is signed by the key the
   log's own registry names for it (`ledger.registry`);
5. the statuses recomputed from those entries (`ledger.taxi.status`) equal the served
   lines, every taxi, byte for byte — and for ``--since N``, the served changes equal
   the changes between the recomputed lists at N and at the list's size.

Exit status: 0 accepted, 1 refused, 2 usage, 3 the platform could not be reached or
answered an HTTP error.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ledger import merkle
from ledger.client import FetchError, LogClient
from ledger.note import NoteError, Verifier, open_note
from ledger.records import Record, RecordError
from ledger.registry import KeyRegistry, Owners
from ledger.taxi.feed import DocumentError, StatusDocument, changes, lines_of
from ledger.taxi.status import SUSPEND, TaxiLedger, TaxiStatus
from ledger.tiles import TileError, TileHashReader

MAX_LIST_BYTES = 64 << 20
"""Cap on a list answer: 10,000 taxis with a hundred evidence indexes each is ~10 MB."""
EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


class Refused(Exception):
    """The served list does not hold up: the message says which check failed."""


@dataclass
class Accepted:
    document: StatusDocument
    statuses: list[TaxiStatus]
    """The full list at the document's size (recomputed, equal to what was served)."""
    changed: list[TaxiStatus] | None
    """For a ``since`` request, the changed taxis as served."""


def fetch_list(platform: str, since: int | None, timeout: float = 60) -> bytes:
    """The platform's answer to GET /taxi/status[?since=N]; FetchError otherwise."""
    url = platform.rstrip("/") + "/taxi/status" + ("" if since is None else f"?since={since}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            data = answer.read(MAX_LIST_BYTES + 1)
    except urllib.error.HTTPError as exc:
        detail = exc.read(4096).decode("utf-8", "replace")
        exc.close()
        raise FetchError(url, f"HTTP {exc.code}: {detail}", exc.code) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise FetchError(url, f"cannot connect ({getattr(exc, 'reason', exc)})") from exc
    if len(data) > MAX_LIST_BYTES:
        raise FetchError(url, f"the list is larger than {MAX_LIST_BYTES:,} bytes; refused")
    return data


def open_document(data: bytes, verifier: Verifier) -> StatusDocument:
    """Step 1: the signature of the log key, then the document's own form."""
    try:
        note = open_note(data, verifier)
    except (NoteError, ValueError) as exc:
        raise Refused(f"the list is not signed by the log key {verifier.name}: {exc}") from None
    try:
        document = StatusDocument.parse(note.text)
    except DocumentError as exc:
        raise Refused(f"the signed note is not a taxi-status list: {exc}") from None
    if document.origin != verifier.name:
        raise Refused(
            f"the list is for log {document.origin!r}, not {verifier.name!r} (the key's log)"
        )
    if document.sequence != document.size:
        raise Refused(
            f"the list's sequence {document.sequence} is not its tree size {document.size}"
        )
    return document


def check_not_replayed(document: StatusDocument, state: dict | None) -> None:
    """Step 2: neither the sequence nor the as-of time may go back."""
    if not state:
        return
    if state.get("origin", document.origin) != document.origin:
        raise Refused(
            f"the state file is for log {state['origin']!r}, the list for {document.origin!r}"
        )
    if document.size < state["size"]:
        raise Refused(
            f"replayed or old list: sequence {document.size} is older than sequence "
            f"{state['size']} accepted before; a list never goes back"
        )
    if document.as_of_ms < state["as_of_ms"]:
        raise Refused(
            f"old list: as-of {document.as_of_ms} is before the as-of {state['as_of_ms']} "
            "of the list accepted before"
        )
    if document.size == state["size"] and document.root != base64.b64decode(state["root"]):
        raise Refused(
            f"two different logs of size {document.size} signed with the same key: the "
            "platform shows a split view (keep both lists as evidence)"
        )


def check_fresh(document: StatusDocument, max_age_s: float | None, now_s: float) -> None:
    """With ``--max-age``: the list's as-of time is recent by this machine's clock."""
    if max_age_s is None:
        return
    age_s = now_s - document.as_of_ms / 1000
    if age_s > max_age_s:
        raise Refused(
            f"stale list: as-of {document.as_of_ms} is {age_s:.0f} s old, more than "
            f"--max-age {max_age_s:g} s (an old list replayed, or the log stopped moving)"
        )


def verify(
    platform: str,
    vkey: str,
    data: bytes,
    since: int | None = None,
    state: dict | None = None,
) -> Accepted:
    """Steps 1-5 for the answer ``data``; raises Refused, or FetchError when the log's
    tiles or entries cannot be fetched."""
    verifier = Verifier(vkey)
    document = open_document(data, verifier)
    if document.since != since:
        raise Refused(f"asked for the changes since {since}, got a list since {document.since}")
    check_not_replayed(document, state)
    with LogClient(platform, vkey) as log:
        reader = TileHashReader(document.size, document.root, log.fetch)
        if state and 0 < state["size"] < document.size:
            old_root = base64.b64decode(state["root"])
            try:
                proof = reader.consistency_proof(state["size"])
                merkle.verify_consistency(
                    state["size"], document.size, proof, old_root, document.root
                )
            except (TileError, merkle.ProofError) as exc:
                raise Refused(
                    f"the list's log (size {document.size}) is not consistent with the log "
                    f"seen before (size {state['size']}): history was rewritten ({exc})"
                ) from None
        at_since, ledger = _recompute(log, reader, document.size, since)
    served = list(document.lines)
    if document.as_of_ms != ledger.as_of_ms:
        raise Refused(
            f"the list's as-of time {document.as_of_ms} is not the log's "
            f"({ledger.as_of_ms}, the latest non-terminal taxi record)"
        )
    recomputed = list(lines_of(ledger))
    expected = recomputed if since is None else list(changes(at_since or (), recomputed))
    _compare(served, expected, "the list" if since is None else f"the changes since {since}")
    statuses = [TaxiStatus.parse(line) for line in recomputed]
    changed = None if since is None else [TaxiStatus.parse(line) for line in served]
    return Accepted(document, statuses, changed)


def _recompute(
    log: LogClient, reader: TileHashReader, size: int, since: int | None
) -> tuple[tuple[str, ...] | None, TaxiLedger]:
    """Steps 4-5: every entry checked against the tree and the registry, then applied."""
    if since is not None and since > size:
        raise Refused(f"the list claims changes since {since}, beyond its own size {size}")
    ledger, registry, owners = TaxiLedger(), KeyRegistry(), Owners()
    at_since = lines_of(ledger) if since == 0 else None
    try:
        for first, bundle in log.bundles(0, size, size) if size else ():
            hashes = reader.leaf_hashes(first, first + len(bundle))
            for index, (data, want) in enumerate(zip(bundle, hashes, strict=True), first):
                if merkle.leaf_hash(data) != want:
                    raise Refused(f"entry {index} served is not the log's entry {index}")
                _check_signer(index, data, registry, owners)
                ledger.apply(index, data)
                if since is not None and index + 1 == since:
                    at_since = lines_of(ledger)
    except TileError as exc:
        raise Refused(f"the log's tiles do not match the list's root: {exc}") from None
    return at_since, ledger


def _check_signer(index: int, data: bytes, registry: KeyRegistry, owners: Owners) -> None:
    try:
        record = Record.parse(data)
        registry.check(record)
        owners.check(record.type, record.body, record.key_id in registry.authority, strict=False)
        owners.apply(record.type, record.body)
    except (RecordError, KeyError) as exc:
        raise Refused(f"entry {index} of the log breaks the registry rules: {exc}") from None


def _compare(served: list[str], expected: list[str], what: str) -> None:
    if served == expected:
        return
    by_plate = {TaxiStatus.parse(line).plate: line for line in expected}
    seen = set()
    for line in served:
        item = TaxiStatus.parse(line)
        seen.add(item.plate)
        want = by_plate.get(item.plate)
        if want is None:
            raise Refused(f"{what} names taxi {item.plate}, which the log does not put there")
        if want != line:
            truth = TaxiStatus.parse(want)
            raise Refused(
                f"{what}: taxi {item.plate} is served as {item.status} ({item.evidence}), "
                f"the log says {truth.status} ({truth.evidence})"
            )
    missing = [plate for plate in by_plate if plate not in seen]
    if missing:
        raise Refused(f"{what} leaves out taxi {missing[0]} ({len(missing)} taxi(s) dropped)")
    raise Refused(f"{what} is not in the order the contract fixes (by plate)")


# ---- state and command line -------------------------------------------------------------


def load_state(path: Path | None) -> dict | None:
    if path is None or not path.exists():
        return None
    try:
        state = json.loads(path.read_text())
        int(state["size"]), int(state["as_of_ms"]), base64.b64decode(state["root"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not a taxi-status state file ({exc})") from exc
    return state


def save_state(path: Path, accepted: Accepted, note: bytes) -> None:
    document = accepted.document
    state = {
        "origin": document.origin,
        "size": document.size,
        "root": base64.b64encode(document.root).decode(),
        "as_of_ms": document.as_of_ms,
        "note": note.decode("utf-8"),
        "lines": [status.line() for status in accepted.statuses],
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state, ensure_ascii=False, indent=1))
    os.replace(tmp, path)


def _read_vkey(text: str) -> str:
    candidate = Path(text)
    if candidate.is_file():
        return candidate.read_text().strip()
    return text.strip()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ledger taxi-status",
        description="Fetch the signed taxi suspension list, verify it against the log and "
        "print it (docs/taxi-status.md). Exit 0 accepted, 1 refused, 3 unreachable.",
    )
    parser.add_argument("--platform", required=True, help="platform URL")
    parser.add_argument("--log-key", required=True, help="log verifier key, or a file with it")
    parser.add_argument("--since", type=int, default=None, help="only the changes since N")
    parser.add_argument("--state", type=Path, default=None, help="last accepted list (JSON)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--max-age",
        type=float,
        default=None,
        help="refuse a list whose as-of time is more than this many seconds before now "
        "(a replayed old list reaching a client without --state)",
    )
    args = parser.parse_args(argv)
    try:
        vkey = _read_vkey(args.log_key)
        Verifier(vkey)
        state = load_state(args.state)
    except (ValueError, OSError) as exc:
        print(f"taxi-status: {exc}", file=sys.stderr)
        return EXIT_USAGE
    since = args.since
    try:
        try:
            data = fetch_list(args.platform, since)
        except FetchError as exc:
            if exc.status != 410:
                raise
            print(
                f"taxi-status: the platform no longer holds the list at {since}; "
                "verifying the full list instead",
                file=sys.stderr,
            )
            since = None
            data = fetch_list(args.platform, since)
        accepted = verify(args.platform, vkey, data, since, state)
        check_fresh(accepted.document, args.max_age, time.time())
    except Refused as exc:
        print(f"taxi-status: REFUSED: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except FetchError as exc:
        print(f"taxi-status: platform unavailable: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    if args.state is not None:
        save_state(args.state, accepted, data)
    _print(accepted, args.json)
    return EXIT_OK


def _print(accepted: Accepted, as_json: bool) -> None:
    document = accepted.document
    shown = accepted.statuses if accepted.changed is None else accepted.changed
    if as_json:
        print(
            json.dumps(
                {
                    "origin": document.origin,
                    "sequence": document.sequence,
                    "size": document.size,
                    "root": base64.b64encode(document.root).decode(),
                    "as_of_ms": document.as_of_ms,
                    "since": document.since,
                    "taxis": [
                        {
                            "plate": s.plate,
                            "meter_serial": s.meter_serial,
                            "status": s.status,
                            "suspend": s.status in SUSPEND,
                            "evidence": s.evidence,
                        }
                        for s in shown
                    ],
                },
                ensure_ascii=False,
                indent=1,
            )
        )
        return
    kind = "full list" if document.since is None else f"changes since {document.since}"
    print(
        f"verified: {document.origin} sequence {document.sequence} as-of {document.as_of_ms} "
        f"({kind}, {len(shown)} taxi(s))"
    )
    for s in shown:
        flag = "SUSPEND" if s.status in SUSPEND else "ok"
        print(f"{s.plate}\t{s.meter_serial}\t{s.status}\t{flag}\t{s.evidence}")
