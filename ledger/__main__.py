"""`python -m ledger COMMAND ...`: the ledger's headless tools.

Each command lives in its own module with a ``main(argv) -> int``; this file
only dispatches, so adding a command never touches another one's code.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "note": ("ledger.note", "sign / verify C2SP signed notes and checkpoints"),
    "keygen": ("ledger.keys", "generate a signing key pair (log, meter, operator, inspector)"),
    "serve": ("ledger.platform.server", "run the reference supervision platform"),
    "simulate": ("ledger.fleet.cli", "run the Hangzhou fleet simulator against a platform"),
    "fuel-fleet": ("ledger.fuel.fleet_cli", "simulate the city's fuel stations (file or platform)"),
    "taxi-fleet": ("ledger.taxi.fleet_cli", "simulate the city's taxis (file or platform)"),
    "verify-bundle": ("ledger.bundle_verify", "check an evidence bundle offline"),
    "taxi-status": ("ledger.taxi.client", "fetch and verify the signed taxi suspension list"),
    "witness": ("ledger.witness", "run a C2SP tlog-witness that cosigns consistent checkpoints"),
    "loglist": ("ledger.loglist", "sign / verify the authority's signed list of logs"),
}


def _available() -> dict[str, tuple[str, str]]:
    return {
        name: spec
        for name, spec in COMMANDS.items()
        if importlib.util.find_spec(spec[0].rsplit(".", 1)[0]) is not None
        and _module_exists(spec[0])
    }


def _module_exists(dotted: str) -> bool:
    try:
        return importlib.util.find_spec(dotted) is not None
    except ModuleNotFoundError:
        return False


def usage() -> str:
    lines = ["usage: python -m ledger COMMAND [ARGS...]", "", "commands:"]
    for name, (_mod, text) in _available().items():
        lines.append(f"  {name:<15} {text}")
    lines.append("")
    lines.append("`python -m ledger COMMAND --help` for a command's options.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    available = _available()
    if name not in available:
        print(f"ledger: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(available[name][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
