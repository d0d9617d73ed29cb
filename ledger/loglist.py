"""The signed log list: which logs exist, their keys, shards, states and witness quorum.

Issue #17 item 1 (docs/deployment.md). At province or national scale there is not one log
but many — by province and half-year, as Certificate Transparency shards by time — and an
office must know, from a source it can check, which logs its jurisdiction covers, with
which verifier key, and how many named witnesses must cosign each checkpoint. The
national authority signs that list as a C2SP signed note (`ledger.note`, Ed25519), like
Chrome's and Apple's CT log lists are signed; offices pin the authority's verifier key.

The note's text (one item per line, no other whitespace; every log's lines follow its
``log`` line)::

    evmetrology log list v1
    sequence 7
    issued 1767225600000
    log hangzhou.evmetrology.example/2026h1
    key hangzhou.evmetrology.example/2026h1+1234abcd+AQ…
    url https://log.hz.example/2026h1
    region 330100
    shard 1767196800000 1782835200000
    state usable
    quorum 2
    max-age 86400
    witness nim.witness.example+…+BA…
    witness zjim.witness.example+…+BA…
    witness zju.witness.example+…+BA…

* ``sequence`` only grows: an office refuses a list older than one it has accepted (a
  platform or a mirror cannot roll an office back to a list without the newest shard);
* ``region`` is the administrative division code (GB/T 2260) the log serves;
* ``shard`` is the half-open entry time interval [start, end) in Unix ms;
* ``state``: ``usable`` (accepting entries), ``read-only`` (frozen: still synced and
  verified, no new entries), ``retired`` (kept for evidence, no longer followed);
* ``quorum``, ``max-age`` (optional, seconds) and ``witness`` lines are the log's
  `WitnessPolicy`.

Parsing is strict: an unknown line, a repeated origin, a key whose name is not the log's
origin, a quorum the named witnesses cannot reach — each is a `LogListError` naming the
line, so an authority's mistake is caught before an office trusts the list.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ledger.cosignature import Cosigner, PolicyError, WitnessPolicy
from ledger.note import NoteError, Signer, Verifier, is_valid_name, open_note, sign_note

__all__ = ["STATES", "LogEntry", "LogList", "LogListError", "open_log_list", "sign_log_list"]

HEADER = "evmetrology log list v1"
STATES = ("usable", "read-only", "retired")
FOLLOWED = ("usable", "read-only")
"""States an office syncs and verifies; a retired log is kept for evidence only."""


class LogListError(ValueError):
    """The log list is malformed, not signed by the authority, or older than one seen."""


@dataclass(frozen=True)
class LogEntry:
    origin: str
    key: str
    url: str
    region: str
    shard: tuple[int, int]
    state: str
    quorum: int | None = None
    witnesses: tuple[str, ...] = ()
    max_age_s: int | None = None
    """Cosignatures older than this many seconds do not count (ledger.cosignature)."""

    def policy(self) -> WitnessPolicy | None:
        """The log's witness policy (None: the log's own signature suffices)."""
        if not self.witnesses:
            return None
        return WitnessPolicy(
            [Cosigner(Verifier(w)) for w in self.witnesses],
            self.quorum if self.quorum is not None else min(2, len(self.witnesses)),
            self.max_age_s,
        )

    def lines(self) -> list[str]:
        out = [
            f"log {self.origin}",
            f"key {self.key}",
            f"url {self.url}",
            f"region {self.region}",
            f"shard {self.shard[0]} {self.shard[1]}",
            f"state {self.state}",
        ]
        if self.quorum is not None:
            out.append(f"quorum {self.quorum}")
        if self.max_age_s is not None:
            out.append(f"max-age {self.max_age_s}")
        out += [f"witness {w}" for w in self.witnesses]
        return out


@dataclass(frozen=True)
class LogList:
    sequence: int
    issued_ms: int
    logs: tuple[LogEntry, ...] = field(default=())

    def to_text(self) -> str:
        lines = [HEADER, f"sequence {self.sequence}", f"issued {self.issued_ms}"]
        for entry in self.logs:
            lines += entry.lines()
        return "\n".join(lines) + "\n"

    def followed(self, region_prefix: str = "") -> list[LogEntry]:
        """The logs an office whose jurisdiction is ``region_prefix`` syncs: usable and
        read-only ones of its region (a province office "33" follows "330100", …)."""
        return [e for e in self.logs if e.state in FOLLOWED and e.region.startswith(region_prefix)]

    @classmethod
    def parse(cls, text: str) -> LogList:
        lines = text.split("\n")
        if lines[-1] != "":
            raise LogListError("the log list must end with a newline")
        lines = lines[:-1]
        if not lines or lines[0] != HEADER:
            raise LogListError(f"line 1: expected {HEADER!r}")
        sequence = _int_line(lines, 1, "sequence")
        issued = _int_line(lines, 2, "issued")
        logs: list[LogEntry] = []
        current: dict[str, object] | None = None
        start_line = 0
        for number, line in enumerate(lines[3:], 4):
            word, _, value = line.partition(" ")
            if not value or value != value.strip() or "  " in value:
                raise LogListError(f"line {number}: expected 'keyword value', got {line!r}")
            if word == "log":
                if current is not None:
                    logs.append(_entry(current, start_line))
                current, start_line = {"origin": value, "witnesses": []}, number
                continue
            if current is None:
                raise LogListError(f"line {number}: {word!r} before any 'log' line")
            if word == "witness":
                current["witnesses"].append(value)  # type: ignore[union-attr]
            elif word in ("key", "url", "region", "shard", "state", "quorum", "max-age"):
                if word in current:
                    raise LogListError(f"line {number}: a second {word!r} for {current['origin']}")
                current[word] = value
            else:
                raise LogListError(f"line {number}: unknown keyword {word!r}")
        if current is not None:
            logs.append(_entry(current, start_line))
        origins = [e.origin for e in logs]
        for origin in origins:
            if origins.count(origin) > 1:
                raise LogListError(f"log {origin} is listed twice")
        return cls(sequence, issued, tuple(logs))


def _int_line(lines: list[str], index: int, word: str) -> int:
    if len(lines) <= index:
        raise LogListError(f"line {index + 1}: expected '{word} N'")
    got, _, value = lines[index].partition(" ")
    if got != word or not value.isdigit() or not value.isascii() or len(value) > 18:
        raise LogListError(f"line {index + 1}: expected '{word} N', got {lines[index]!r}")
    return int(value)


def _entry(fields: dict[str, object], line: int) -> LogEntry:
    origin = str(fields["origin"])
    where = f"log {origin} (line {line})"
    if not is_valid_name(origin):
        raise LogListError(f"{where}: not a valid log origin")
    missing = [w for w in ("key", "url", "region", "shard", "state") if w not in fields]
    if missing:
        raise LogListError(f"{where}: missing {', '.join(missing)}")
    key = str(fields["key"])
    try:
        verifier = Verifier(key)
    except NoteError as exc:
        raise LogListError(f"{where}: key: {exc}") from None
    if verifier.name != origin:
        raise LogListError(f"{where}: the key is named {verifier.name!r}, not the log's origin")
    url = str(fields["url"])
    if not url.startswith(("https://", "http://")):
        raise LogListError(f"{where}: url must be http(s), got {url!r}")
    region = str(fields["region"])
    if not (region.isascii() and region.isdigit() and 2 <= len(region) <= 6):
        raise LogListError(f"{where}: region must be a GB/T 2260 code (2–6 digits)")
    parts = str(fields["shard"]).split(" ")
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() and len(p) <= 18 for p in parts):
        raise LogListError(f"{where}: shard must be 'START_MS END_MS'")
    shard = (int(parts[0]), int(parts[1]))
    if shard[0] >= shard[1]:
        raise LogListError(f"{where}: the shard ends before it starts")
    state = str(fields["state"])
    if state not in STATES:
        raise LogListError(f"{where}: state must be one of {', '.join(STATES)}")
    quorum: int | None = None
    if "quorum" in fields:
        text = str(fields["quorum"])
        if not (text.isascii() and text.isdigit() and len(text) <= 3):
            raise LogListError(f"{where}: quorum must be a number")
        quorum = int(text)
    max_age: int | None = None
    if "max-age" in fields:
        text = str(fields["max-age"])
        if not (text.isascii() and text.isdigit() and 1 <= len(text) <= 9):
            raise LogListError(f"{where}: max-age must be a number of seconds")
        max_age = int(text)
    entry = LogEntry(
        origin,
        key,
        url,
        region,
        shard,
        state,
        quorum,
        tuple(fields["witnesses"]),  # type: ignore[arg-type]
        max_age,
    )
    if (quorum is not None or max_age is not None) and not entry.witnesses:
        raise LogListError(f"{where}: a quorum or max-age without witnesses")
    try:
        entry.policy()
    except (PolicyError, NoteError) as exc:
        raise LogListError(f"{where}: witnesses: {exc}") from None
    return entry


def sign_log_list(log_list: LogList, signer: Signer) -> bytes:
    """The list as a signed note (checked by parsing what is signed)."""
    text = log_list.to_text()
    if LogList.parse(text) != log_list:
        raise LogListError("the list does not survive its own text form")
    return sign_note(text, signer)


def open_log_list(data: bytes, authority: Verifier, seen: LogList | None = None) -> LogList:
    """The list if the authority signed it and it is not older than ``seen``."""
    try:
        note = open_note(data, authority)
    except NoteError as exc:
        raise LogListError(f"the log list is not signed by {authority.name}: {exc}") from None
    log_list = LogList.parse(note.text)
    if seen is not None and log_list.sequence < seen.sequence:
        raise LogListError(
            f"the log list has sequence {log_list.sequence}, older than the "
            f"{seen.sequence} already accepted: a rollback (keep the newer list)"
        )
    if seen is not None and log_list.sequence == seen.sequence and log_list != seen:
        raise LogListError(
            f"two different log lists with sequence {log_list.sequence}: keep both as evidence"
        )
    return log_list


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ledger loglist", description="Sign or verify the signed log list."
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    sign = sub.add_parser("sign", help="sign a log list text with the authority's note key")
    sign.add_argument("--key", required=True, help="the authority's signer key file")
    sign.add_argument("list", help="the list's text")
    verify = sub.add_parser("verify", help="verify a signed log list and print its logs")
    verify.add_argument("--key", required=True, help="the authority's verifier key or file")
    verify.add_argument("note", help="the signed list")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "sign":
            signer = Signer(Path(args.key).read_text().strip())
            text = Path(args.list).read_text(encoding="utf-8")
            sys.stdout.buffer.write(sign_log_list(LogList.parse(text), signer))
            return 0
        key = args.key if "+" in args.key else Path(args.key).read_text().strip()
        log_list = open_log_list(Path(args.note).read_bytes(), Verifier(key))
    except (OSError, UnicodeDecodeError, NoteError, LogListError) as exc:
        print(f"loglist: {exc}", file=sys.stderr)
        return 1
    print(f"log list sequence {log_list.sequence}, {len(log_list.logs)} logs")
    for e in log_list.logs:
        quorum = f"{e.policy().quorum} of {len(e.witnesses)} witnesses" if e.witnesses else "-"
        print(f"  {e.origin}  {e.state}  region {e.region}  {e.url}  {quorum}")
    return 0
