"""OCMF: our parser+verifier vs pyocmf on the same records, same run, same machine.

Why: a CSMS or regulator importing a city's OCMF sessions verifies millions of
records; ours must agree with the reference Python implementation on every
record and be at least as fast. Prints one line per implementation and exits 1
on any disagreement (or if ours is slower).

    .venv/bin/python bench/ocmf_bench.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ledger import ocmf  # noqa: E402

DATA = ROOT / "tests" / "data" / "ocmf"


def corpus() -> list[tuple[str, str, str]]:
    """(name, plain OCMF text, key) for every vector, plus one altered copy of each."""
    out = []
    for path in sorted(DATA.glob("*.ocmf")):
        text = ocmf.unwrap(path.read_text())
        key = path.with_suffix(".pubkey").read_text().strip()
        out.append((path.stem, text, key))
        i = text.index('"RV":') + 5
        altered = text[:i] + ("9" if text[i] != "9" else "8") + text[i + 1 :]
        out.append((path.stem + "+altered", altered, key))
    return out


def ours(text: str, key: str) -> bool:
    try:
        ocmf.verify_ocmf(ocmf.parse_ocmf(text), key)
    except ocmf.OcmfError:
        return False
    return True


def theirs(text: str, key: str) -> bool:
    import pyocmf

    try:
        return bool(pyocmf.OCMF.from_string(text).verify_signature(key))
    except pyocmf.PyOCMFError:
        return False


def rate(fn, records: list[tuple[str, str, str]], seconds: float) -> float:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _name, text, key in records:
            fn(text, key)
        n += len(records)
    return n / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # pyocmf reports spec deviations as warnings
    import pyocmf

    records = corpus()
    disagree = 0
    for name, text, key in records:
        a, b = ours(text, key), theirs(text, key)
        mark = "agree" if a == b else "DISAGREE"
        disagree += a != b
        print(f"  {name:<34} ours={a!s:<5} pyocmf={b!s:<5} {mark}")
    r_ours = rate(ours, records, args.seconds)
    r_theirs = rate(theirs, records, args.seconds)
    print(f"records: {len(records)} ({len(records) // 2} genuine + altered copies)")
    print(f"ledger.ocmf      {r_ours:10,.0f} records verified/s")
    print(f"pyocmf {pyocmf.__version__:<9} {r_theirs:10,.0f} records verified/s")
    print(f"speed-up         {r_ours / r_theirs:10.2f}x; disagreements: {disagree}")
    return 1 if disagree or r_ours < r_theirs else 0


if __name__ == "__main__":
    sys.exit(main())
