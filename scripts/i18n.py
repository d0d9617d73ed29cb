"""Translation pipeline: extract (update), compile (release) and guard (check).

    python scripts/i18n.py update    # pyside6-lupdate app/**/*.py main.py -> .ts
    python scripts/i18n.py release   # pyside6-lrelease .ts -> .qm (+ .qm.sha256)
    python scripts/i18n.py check     # pure Python; exits 1 with a list of problems

English is the source language and zh_CN the default UI language, so an
untranslated string is a visible bug for every user. ``check`` runs in the
test suite (tests/test_i18n.py) and fails when:

* a message is unfinished or its translation is empty;
* placeholders differ between source and translation (``%1``, ``%n``,
  ``%L1``, ``{name}``, ``%(name)s``): a dropped ``%1`` silently loses data;
* a string used in app/ is missing from the .ts, or is there only as
  obsolete/vanished (someone edited code but did not run ``update``);
* a translated text is built at run time (f-string, ``+``, ``%`` or
  ``.format()`` inside ``translate()``), which lupdate cannot see;
* a message has no context (lupdate saw a bare ``tr()`` it could not place),
  since Qt looks translations up by context and would never find it;
* the .qm is missing or was not built from the current .ts (hashes in
  ``workstation_zh_CN.qm.sha256``, ``sha256sum -c`` format; mtimes are
  meaningless after a git checkout).

Module-level helpers such as ``def tr(text): return
QCoreApplication.translate("MainWindow", text)`` are supported: lupdate files
their calls under an empty context, and ``update`` moves them to the
helper's context (the one Qt will use at run time).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
I18N = ROOT / "resources" / "i18n"
LANGUAGE = "zh_CN"
TS = I18N / f"workstation_{LANGUAGE}.ts"
QM = TS.with_suffix(".qm")
QM_HASH = QM.with_name(QM.name + ".sha256")

# Qt's %1..%99, %n and their localized %L forms; str.format fields; printf-style
# named fields. "100%" or "5%的" match none of these.
PLACEHOLDER = re.compile(
    r"%L?(?:\d{1,2}|n)|\{[A-Za-z_0-9]*(?:[!:][^{}]*)?\}|%\([A-Za-z_]\w*\)[sdfr]"
)
TRANSLATE_FUNCS = {"translate", "QT_TRANSLATE_NOOP", "QT_TRANSLATE_NOOP3"}
TR_FUNCS = {"tr", "QT_TR_NOOP"}
INACTIVE = {"obsolete", "vanished"}


# --------------------------------------------------------------------------- sources


def source_files(root: Path = ROOT) -> list[Path]:
    """The Python files lupdate scans: app/**/*.py and main.py."""
    files = sorted(p for p in (root / "app").rglob("*.py") if "__pycache__" not in p.parts)
    main = root / "main.py"
    return [*files, main] if main.exists() else files


@dataclass(frozen=True)
class Use:
    """One translatable string as the code uses it."""

    context: str
    source: str
    path: Path
    line: int
    end_line: int = 0
    """Last line of the call (lupdate may place a call spanning lines at any of them)."""

    def covers(self, line: int) -> bool:
        return self.line <= line <= max(self.line, self.end_line)


@dataclass(frozen=True)
class Problem:
    """One reason the translations are not releasable, phrased for the person fixing it."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def _func_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _is_dynamic(node: ast.expr) -> bool:
    """A text built at run time: f-string, concatenation, %-formatting or .format()."""
    if isinstance(node, ast.JoinedStr | ast.BinOp):
        return True
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
    )


def _helpers(tree: ast.Module) -> dict[str, str]:
    """Module-level ``def f(text, ...): return X.translate("Ctx", text, ...)`` -> {f: Ctx}."""
    helpers: dict[str, str] = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or not node.args.args:
            continue
        param = node.args.args[0].arg
        for ret in ast.walk(node):
            if (
                isinstance(ret, ast.Return)
                and isinstance(ret.value, ast.Call)
                and _func_name(ret.value.func) == "translate"
                and len(ret.value.args) >= 2
                and _literal(ret.value.args[0]) is not None
                and isinstance(ret.value.args[1], ast.Name)
                and ret.value.args[1].id == param
            ):
                helpers[node.name] = _literal(ret.value.args[0]) or ""
    return helpers


def extract(path: Path) -> tuple[list[Use], list[Problem]]:
    """Translatable strings in one file, the way Qt will look them up at run time."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    helpers = _helpers(tree)
    uses: list[Use] = []
    problems: list[Problem] = []

    def visit(node: ast.AST, cls: str | None) -> None:
        if isinstance(node, ast.ClassDef):
            cls = node.name
        if isinstance(node, ast.Call):
            name = _func_name(node.func)
            args = node.args
            context: str | None = None
            text: ast.expr | None = None
            if name in TRANSLATE_FUNCS and len(args) >= 2:
                context, text = _literal(args[0]), args[1]
            elif name in helpers and isinstance(node.func, ast.Name) and args:
                context, text = helpers[name], args[0]
            elif name in TR_FUNCS and args:
                context, text = (cls or ""), args[0]
            if text is not None and context is not None:
                literal = _literal(text)
                where = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}"
                where += f":{node.lineno}"
                if literal is not None:
                    end = node.end_lineno or node.lineno
                    uses.append(Use(context, literal, path, node.lineno, end))
                elif _is_dynamic(text):
                    problems.append(
                        Problem(
                            where,
                            "translated text is built at run time; translate a literal with "
                            "%1/{name} placeholders and fill them in after translating",
                        )
                    )
                # A plain variable is fine: it translates a QT_TRANSLATE_NOOP-marked value,
                # and inside a helper it is the helper's own pass-through.
        for child in ast.iter_child_nodes(node):
            visit(child, cls)

    visit(tree, None)
    return uses, problems


def extract_all(files: Iterable[Path]) -> tuple[list[Use], list[Problem]]:
    uses: list[Use] = []
    problems: list[Problem] = []
    for path in files:
        file_uses, file_problems = extract(path)
        uses += file_uses
        problems += file_problems
    return uses, problems


# ------------------------------------------------------------------------------ .ts


def _messages(root: ET.Element) -> Iterator[tuple[str, ET.Element]]:
    for context in root.iter("context"):
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            yield name, message


def _translations(message: ET.Element) -> list[str]:
    translation = message.find("translation")
    if translation is None:
        return [""]
    if message.get("numerus") == "yes":
        return [form.text or "" for form in translation.iter("numerusform")] or [""]
    return [translation.text or ""]


def placeholders(text: str) -> Counter[str]:
    """The placeholders in ``text`` as a multiset; %L1 counts as %1 (same argument)."""
    return Counter(p.replace("%L", "%") for p in PLACEHOLDER.findall(text))


def check_ts(ts: Path) -> list[Problem]:
    """Problems within the .ts itself: unfinished, empty, contextless, placeholder drift."""
    problems: list[Problem] = []
    root = ET.parse(ts).getroot()
    for context, message in _messages(root):
        source = message.findtext("source") or ""
        translation = message.find("translation")
        kind = translation.get("type") if translation is not None else "unfinished"
        if kind in INACTIVE:
            continue
        where = f"{ts.name} [{context or '<no context>'}] {source!r}"
        if not context:
            problems.append(
                Problem(
                    where,
                    "no context: Qt cannot look this up. Use "
                    'QCoreApplication.translate("Context", "...") or a module-level '
                    "helper that calls it, then run `python scripts/i18n.py update`",
                )
            )
        texts = _translations(message)
        if kind == "unfinished" or not all(t.strip() for t in texts):
            problems.append(Problem(where, "untranslated or unfinished"))
            continue
        expected = placeholders(source)
        for text in texts:
            if placeholders(text) != expected:
                got = sorted(placeholders(text).elements())
                problems.append(
                    Problem(
                        where,
                        f"placeholders differ: source {sorted(expected.elements())}, "
                        f"translation {got} in {text!r}",
                    )
                )
    return problems


def check_usage(ts: Path, files: Iterable[Path]) -> list[Problem]:
    """Strings the code uses that the .ts lacks or holds only as obsolete."""
    uses, problems = extract_all(files)
    root = ET.parse(ts).getroot()
    state: dict[tuple[str, str], str] = {}
    for context, message in _messages(root):
        translation = message.find("translation")
        kind = (translation.get("type") if translation is not None else None) or "finished"
        key = (context, message.findtext("source") or "")
        if state.get(key) not in (None, "obsolete", "vanished"):
            continue  # an active entry wins over a stale duplicate
        state[key] = kind
    for use in uses:
        where = f"{use.path.relative_to(ROOT) if use.path.is_relative_to(ROOT) else use.path}"
        where += f":{use.line} [{use.context}] {use.source!r}"
        kind = state.get((use.context, use.source))
        if kind is None:
            problems.append(Problem(where, "not in the .ts: run `python scripts/i18n.py update`"))
        elif kind in INACTIVE:
            problems.append(
                Problem(where, f"marked {kind} but still used: run `python scripts/i18n.py update`")
            )
    return problems


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_release(ts: Path, qm: Path, hash_file: Path) -> list[Problem]:
    """The .qm exists and was compiled from exactly this .ts (and not replaced since)."""
    release = "run `python scripts/i18n.py release`"
    if not qm.exists():
        return [Problem(qm.name, f"missing: {release}")]
    if not hash_file.exists():
        return [Problem(hash_file.name, f"missing: {release}")]
    recorded = {}
    for line in hash_file.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        recorded[name.strip()] = digest.strip()
    problems = []
    if recorded.get(ts.name) != _sha256(ts):
        problems.append(
            Problem(qm.name, f"out of date: {ts.name} changed since release; {release}")
        )
    if recorded.get(qm.name) != _sha256(qm):
        problems.append(Problem(qm.name, f"does not match {hash_file.name}; {release}"))
    return problems


def check(
    ts: Path = TS,
    qm: Path | None = QM,
    hash_file: Path | None = QM_HASH,
    files: Iterable[Path] | None = None,
) -> list[Problem]:
    """Every problem with the translations, empty when they are releasable."""
    if not ts.exists():
        return [Problem(ts.name, "missing: run `python scripts/i18n.py update`")]
    problems = check_ts(ts)
    problems += check_usage(ts, source_files() if files is None else files)
    if qm is not None and hash_file is not None:
        problems += check_release(ts, qm, hash_file)
    return problems


# ----------------------------------------------------------------- lupdate / lrelease


def _tool(name: str) -> str:
    """The PySide6 tool next to the running interpreter (the project venv), else on PATH."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found: run from the project venv (.venv/bin/python)")
    return found


def _write_ts(tree: ET.ElementTree, ts: Path) -> None:
    """Writes the .ts in lupdate's own layout, so lupdate/Linguist round trips stay small diffs."""
    root = tree.getroot()
    root.text = "\n"
    for context in root:
        ET.indent(context, space="    ")
        context.tail = "\n"
    body = ET.tostring(root, encoding="unicode")
    body = re.sub(r"<(source|translation|numerusform|comment)([^>]*) />", r"<\1\2></\1>", body)
    body = body.replace(" />", "/>")
    ts.write_text(
        f'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n{body}\n', encoding="utf-8"
    )


def resolve_helper_contexts(ts: Path) -> int:
    """Moves messages lupdate filed under no context into their helper's context.

    lupdate treats ``tr("x")`` outside a class as context "", while the helper
    calls ``QCoreApplication.translate("MainWindow", text)`` at run time. We
    find the helper call at each of a message's locations (a call may span
    lines) and merge the message into that context, reviving an obsolete entry
    (and its translation) there. One source text used through helpers of
    different contexts is split: each context gets the locations that are its.
    Returns how many messages were moved.
    """
    tree = ET.parse(ts)
    root = tree.getroot()
    contexts = {c.findtext("name") or "": c for c in root.findall("context")}
    orphans = contexts.get("")
    if orphans is None:
        _write_ts(tree, ts)  # same layout whether or not anything moved
        return 0
    cache: dict[Path, list[Use]] = {}
    moved = 0
    for message in list(orphans.findall("message")):
        source = message.findtext("source") or ""
        by_context: dict[str, list[ET.Element]] = {}
        unresolved = False
        for location in message.findall("location"):
            path = (ts.parent / location.get("filename", "")).resolve()
            if path not in cache:
                cache[path] = extract(path)[0] if path.exists() else []
            line = int(location.get("line", "0"))
            found = {u.context for u in cache[path] if u.covers(line) and u.source == source}
            found.discard("")
            if len(found) != 1:
                unresolved = True
                break
            by_context.setdefault(found.pop(), []).append(location)
        if unresolved or not by_context:
            continue  # left for `check` to report
        orphans.remove(message)
        moved += 1
        for name, locations in by_context.items():
            _merge_message(root, contexts, name, message, locations)
    if not orphans.findall("message"):
        root.remove(orphans)
    # lupdate keeps contexts sorted; so do we, for stable diffs.
    ordered = sorted(root.findall("context"), key=lambda c: c.findtext("name") or "")
    for context in ordered:
        root.remove(context)
    root.extend(ordered)
    _write_ts(tree, ts)
    return moved


def _merge_message(
    root: ET.Element,
    contexts: dict[str, ET.Element],
    name: str,
    message: ET.Element,
    locations: list[ET.Element],
) -> None:
    """Puts a copy of ``message`` with ``locations`` into context ``name``."""
    import copy

    target = contexts.get(name)
    if target is None:
        target = ET.SubElement(root, "context")
        ET.SubElement(target, "name").text = name
        contexts[name] = target
    source, comment = message.findtext("source"), message.findtext("comment")
    twin = next(
        (
            m
            for m in target.findall("message")
            if m.findtext("source") == source and m.findtext("comment") == comment
        ),
        None,
    )
    if twin is None:
        twin = copy.deepcopy(message)
        for old in twin.findall("location"):
            twin.remove(old)
        target.append(twin)
    else:
        # lupdate marks a finished message that disappeared "vanished" and an
        # unfinished one "obsolete"; undo that, keep the twin's translation.
        translation = twin.find("translation")
        if translation is not None and translation.get("type") == "vanished":
            del translation.attrib["type"]
        elif translation is not None and translation.get("type") == "obsolete":
            translation.set("type", "unfinished")
        for old in twin.findall("location"):
            twin.remove(old)
    for index, location in enumerate(locations):
        twin.insert(index, copy.deepcopy(location))


def update(ts: Path = TS, no_obsolete: bool = False) -> None:
    """Runs lupdate over the app's sources, then fixes helper contexts."""
    ts.parent.mkdir(parents=True, exist_ok=True)
    command = [
        _tool("pyside6-lupdate"),
        *(str(p) for p in source_files()),
        "-source-language",
        "en",
        "-target-language",
        LANGUAGE,
        "-ts",
        str(ts),
    ]
    if no_obsolete:
        command.insert(1, "-no-obsolete")
    subprocess.run(command, check=True)
    moved = resolve_helper_contexts(ts)
    if moved:
        print(f"Moved {moved} helper message(s) to their run-time context.")


def release(ts: Path = TS, qm: Path = QM, hash_file: Path = QM_HASH) -> None:
    """Compiles the .qm and records which .ts it came from."""
    subprocess.run(
        [_tool("pyside6-lrelease"), "-removeidentical", str(ts), "-qm", str(qm)], check=True
    )
    hash_file.write_text(f"{_sha256(ts)}  {ts.name}\n{_sha256(qm)}  {qm.name}\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Translation pipeline (see docs/i18n.md).")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("update", help="extract strings from app/ and main.py into the .ts")
    up.add_argument("--no-obsolete", action="store_true", help="drop vanished messages")
    sub.add_parser("release", help="compile the .ts into the .qm the app loads")
    sub.add_parser("check", help="fail on untranslated, stale or inconsistent translations")
    args = parser.parse_args(argv)
    if args.command == "update":
        update(no_obsolete=args.no_obsolete)
        unfinished = [p for p in check_ts(TS) if "unfinished" in p.message]
        print(f"{len(unfinished)} message(s) need a translation in {TS.relative_to(ROOT)}.")
        return 0
    if args.command == "release":
        release()
        print(f"Wrote {QM.relative_to(ROOT)} and {QM_HASH.name}.")
        return 0
    problems = check()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"\n{len(problems)} translation problem(s); see docs/i18n.md.", file=sys.stderr)
        return 1
    print("Translations OK.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
