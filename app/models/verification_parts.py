"""What every instrument kind's verification procedure shares (charging JJG 1148/1149,
fuel JJG 443, taxi JJG 517): Beijing time, a checklist item, the crash-safe journal a run
is resumed from, the inspector's encrypted signing key, and the JJG rounding (化整) of an
error and its ppm form on the ledger.

Why one module: each kind's procedure (``app.models.<kind>.verification``) differs in
its steps and arithmetic, never in these. Kind-free and Qt-free.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from ledger.keys import SigningKey

__all__ = [
    "CST",
    "ChecklistItem",
    "Journal",
    "create_inspector_key",
    "round_to_step",
    "to_ppm",
    "unlock_inspector_key",
]

CST = dt.timezone(dt.timedelta(hours=8), "CST")


@dataclass(frozen=True)
class ChecklistItem:
    """One appearance/function check; ``key`` is stored, ``text`` is the English label."""

    key: str
    text: str


class Journal:
    """Append-only JSONL file; each line is fsync'ed before the procedure goes on.

    A crash can only tear the last line; :meth:`load` drops a torn tail (and
    truncates it, so the next append starts on a clean line).
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def load(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            with open(self.path, "r+b") as fh:
                fh.truncate(end)
                os.fsync(fh.fileno())
        events = []
        for raw in data[:end].splitlines():
            if raw.strip():
                events.append(json.loads(raw))
        return events

    def append(self, event: Mapping[str, Any]) -> None:
        line = json.dumps(event, sort_keys=True, ensure_ascii=False) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)


def round_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Round to a multiple of ``step``, halves to even (the 化整 rule of JJG).

    The verdict is taken on the mean error rounded to a tenth of the class
    limit (0.1 % for class 1), as verification regulations prescribe, so
    that 1.04 % on a class-1 pile is judged as 1.0 % (pass) and 1.05 % as
    1.0 % too (half to even) while 1.06 % becomes 1.1 % (fail).
    """
    return (value / step).quantize(Decimal(1), rounding=ROUND_HALF_EVEN) * step


def to_ppm(percent: Decimal) -> int:
    """Percent → integer ppm for the ledger (0.31 % → 3100)."""
    return int((percent * 10000).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def create_inspector_key(path: Path, passphrase: str, alg: str = "p256") -> SigningKey:
    """A new inspector key, stored encrypted (PKCS#8, passphrase) with mode 0600.

    Why refuse an empty passphrase: the key signs results that stand in
    enforcement cases; a laptop left in a car must not give it away.
    """
    if len(passphrase) < 8:
        raise ValueError("the passphrase must have at least 8 characters")
    if path.exists():
        raise FileExistsError(f"{path} exists; refusing to overwrite an inspector key")
    key = SigningKey.generate(alg)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    key.save(tmp, passphrase.encode())
    os.replace(tmp, path)
    path.with_suffix(".pub").write_text(key.public_key.text + "\n")
    return key


def unlock_inspector_key(path: Path, passphrase: str) -> SigningKey:
    """Decrypt the inspector key; KeyFormatError says "wrong passphrase" in words."""
    if not path.exists():
        raise FileNotFoundError(f"no inspector key at {path}; create one first")
    return SigningKey.from_pem(path.read_bytes(), passphrase.encode() or None)
