"""Entry point: the workstation GUI by default, headless sub-commands otherwise.

python main.py                 open the workstation (demo when nothing is configured)
python main.py COMMAND ...     run a headless command (see --help)
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

# name -> (module with main(argv) -> int, one-line description)
COMMANDS: dict[str, tuple[str, str]] = {
    "gui": ("app.application", "open the workstation window (the default)"),
    "sync": ("app.models.sync_cli", "sync and verify the platform's ledger into the store"),
    "screenshot": ("app.screenshot", "render every view to PNG files (zh_CN and en)"),
    "demo-platform": ("app.demo", "run only the demo platform + fleet simulator, headless"),
    "rescan": ("app.models.rules_cli", "re-run every anomaly rule over the whole store"),
    "db": ("app.models.db_cli", "create or migrate the workstation store (Alembic)"),
    "verify": ("app.verify_cli", "verify one gun of a pile with the rig (JJG 1148/1149-2022)"),
}


def _exists(dotted: str) -> bool:
    try:
        return importlib.util.find_spec(dotted) is not None
    except ModuleNotFoundError:
        return False


def usage() -> str:
    lines = [
        "usage: python main.py [COMMAND] [ARGS...]",
        "",
        "With no command, opens the workstation window.",
        "",
        "headless commands:",
    ]
    for name, (module, text) in COMMANDS.items():
        if name != "gui" and _exists(module):
            lines.append(f"  {name:<15} {text}")
    lines += [
        "",
        "`python main.py COMMAND --help` for a command's options.",
        "`python -m ledger --help` for the ledger tools (platform, simulator, notes).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if not argv or argv[0].startswith("-"):
        name, rest = "gui", argv
    else:
        name, rest = argv[0], argv[1:]
    if name not in COMMANDS or not _exists(COMMANDS[name][0]):
        print(f"main.py: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
