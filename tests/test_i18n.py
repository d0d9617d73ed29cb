"""The translation pipeline: committed files are releasable, and the guard catches drift.

The checker (scripts/i18n.py) is what keeps later engineers honest: they add
strings, run ``update``, translate, ``release``; these tests fail if any step
was skipped or a translation dropped a placeholder.
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_pipeline() -> ModuleType:
    """scripts/ is not a package; load the script as a module under a unique name."""
    name = "evm_i18n_pipeline"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "i18n.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses need the module registered while executing
    spec.loader.exec_module(module)
    return module


i18n = _load_pipeline()


def _ts(path: Path, body: str) -> Path:
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n'
        '<TS version="2.1" language="zh_CN" sourcelanguage="en">\n'
        + textwrap.dedent(body)
        + "</TS>\n",
        encoding="utf-8",
    )
    return path


def _messages(problems: list) -> str:
    return "\n".join(str(p) for p in problems)


def test_committed_translations_pass_the_check() -> None:
    problems = i18n.check()
    assert not problems, "run `python scripts/i18n.py update`, translate, `release`:\n" + (
        _messages(problems)
    )


def test_check_catches_placeholders_and_unfinished(tmp_path: Path) -> None:
    ts = _ts(
        tmp_path / "bad.ts",
        """
        <context>
            <name>Fleet</name>
            <message>
                <source>%1 piles in %2</source>
                <translation>%1 个充电桩</translation>
            </message>
            <message>
                <source>Seal broken</source>
                <translation type="unfinished">电子铅封已破坏</translation>
            </message>
            <message>
                <source>Checkpoint {size} at {time}</source>
                <translation>检查点 {size}，时间 {when}</translation>
            </message>
            <message numerus="yes">
                <source>%n alarm(s)</source>
                <translation>
                    <numerusform>若干告警</numerusform>
                </translation>
            </message>
            <message>
                <source>Reordered %1 of %2</source>
                <translation>%2 中的第 %L1 个</translation>
            </message>
            <message>
                <source>Empty</source>
                <translation></translation>
            </message>
            <message>
                <source>Gone away</source>
                <translation type="vanished">已删除</translation>
            </message>
            <message>
                <source>100% verified</source>
                <translation>100% 已检定</translation>
            </message>
        </context>
        <context>
            <name></name>
            <message>
                <source>Orphan</source>
                <translation>孤儿</translation>
            </message>
        </context>
        """,
    )
    text = _messages(i18n.check_ts(ts))
    assert "'%1 piles in %2': placeholders differ" in text
    assert "'Seal broken': untranslated or unfinished" in text
    assert "'Checkpoint {size} at {time}': placeholders differ" in text
    assert "'%n alarm(s)': placeholders differ" in text
    assert "'Empty': untranslated" in text
    assert "'Orphan': no context" in text
    assert "Reordered" not in text  # reordering and %L1 for %1 are fine
    assert "Gone away" not in text  # obsolete entries are history, not work
    assert "100%" not in text  # a literal percent sign is not a placeholder
    assert len(i18n.check_ts(ts)) == 6


def test_check_catches_code_the_ts_does_not_cover(tmp_path: Path) -> None:
    source = tmp_path / "view.py"
    source.write_text(
        textwrap.dedent(
            """
            from PySide6.QtCore import QCoreApplication
            from PySide6.QtWidgets import QWidget


            def tr(text):
                return QCoreApplication.translate("Alarms", text)


            class AlarmView(QWidget):
                def labels(self, n):
                    return [
                        tr("Seal opened"),
                        self.tr("Acknowledge"),
                        QCoreApplication.translate("Alarms", "New alarm"),
                        QCoreApplication.translate("Alarms", f"{n} alarms"),
                        QCoreApplication.translate("Alarms", "Meter %1").replace("%1", "7"),
                    ]
            """
        ),
        encoding="utf-8",
    )
    ts = _ts(
        tmp_path / "usage.ts",
        """
        <context>
            <name>Alarms</name>
            <message>
                <source>Seal opened</source>
                <translation>电子铅封已打开</translation>
            </message>
            <message>
                <source>New alarm</source>
                <translation type="vanished">新告警</translation>
            </message>
            <message>
                <source>Meter %1</source>
                <translation>电能表 %1</translation>
            </message>
        </context>
        """,
    )
    text = _messages(i18n.check_usage(ts, [source]))
    assert "[AlarmView] 'Acknowledge': not in the .ts" in text
    assert "'New alarm': marked vanished but still used" in text
    assert "built at run time" in text
    assert "Seal opened" not in text  # the helper's context was recognised
    assert "Meter" not in text


def test_check_catches_a_stale_qm(tmp_path: Path) -> None:
    ts = _ts(tmp_path / "w.ts", "")
    qm = tmp_path / "w.qm"
    hashes = tmp_path / "w.qm.sha256"
    assert "missing" in _messages(i18n.check_release(ts, qm, hashes))
    qm.write_bytes(b"compiled")
    hashes.write_text(f"{i18n._sha256(ts)}  w.ts\n{i18n._sha256(qm)}  w.qm\n", encoding="utf-8")
    assert i18n.check_release(ts, qm, hashes) == []
    ts.write_text(ts.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert "out of date" in _messages(i18n.check_release(ts, qm, hashes))


def test_update_moves_helper_messages_into_their_context(tmp_path: Path) -> None:
    """lupdate files a bare tr() helper call under no context; update must fix that."""
    (tmp_path / "main_window.py").write_text(
        "from PySide6.QtCore import QCoreApplication\n"
        "def tr(text):\n"
        '    return QCoreApplication.translate("MainWindow", text)\n'
        'TITLE = tr("Not synced")\n',
        encoding="utf-8",
    )
    ts = _ts(
        tmp_path / "w.ts",
        """
        <context>
            <name></name>
            <message>
                <location filename="main_window.py" line="4"/>
                <source>Not synced</source>
                <translation type="unfinished"></translation>
            </message>
        </context>
        <context>
            <name>MainWindow</name>
            <message>
                <location filename="main_window.py" line="9"/>
                <source>Not synced</source>
                <translation type="vanished">未同步</translation>
            </message>
        </context>
        """,
    )
    assert i18n.resolve_helper_contexts(ts) == 1
    root = ET.parse(ts).getroot()
    assert [c.findtext("name") for c in root.iter("context")] == ["MainWindow"]
    (message,) = root.iter("message")
    assert message.find("translation").get("type") is None
    assert message.findtext("translation") == "未同步"
    assert message.find("location").get("line") == "4"
    assert i18n.check_ts(ts) == []


def test_update_splits_one_text_used_by_helpers_of_two_contexts(tmp_path: Path) -> None:
    """The same English text through two files' helpers (one call spanning lines): lupdate
    makes one context-less message with both locations; each context gets its own."""
    for name, ctx, call in (
        ("a.py", "Explorer", 'LABEL = tr("Pile")\n'),
        ("b.py", "PileDetail", 'LABEL = tr(\n    "Pile"\n)\n'),
    ):
        (tmp_path / name).write_text(
            "from PySide6.QtCore import QCoreApplication\n"
            "def tr(text):\n"
            f'    return QCoreApplication.translate("{ctx}", text)\n' + call,
            encoding="utf-8",
        )
    ts = _ts(
        tmp_path / "w.ts",
        """
        <context>
            <name></name>
            <message>
                <location filename="a.py" line="4"/>
                <location filename="b.py" line="5"/>
                <source>Pile</source>
                <translation type="unfinished"></translation>
            </message>
        </context>
        <context>
            <name>Explorer</name>
            <message>
                <location filename="a.py" line="9"/>
                <source>Pile</source>
                <translation type="vanished">充电桩</translation>
            </message>
        </context>
        """,
    )
    assert i18n.resolve_helper_contexts(ts) == 1
    root = ET.parse(ts).getroot()
    found = {
        c.findtext("name"): [
            (m.findtext("translation"), [loc.get("filename") for loc in m.iter("location")])
            for m in c.iter("message")
        ]
        for c in root.iter("context")
    }
    assert found == {"Explorer": [("充电桩", ["a.py"])], "PileDetail": [("", ["b.py"])]}


def _main_window_string() -> tuple[str, str, str]:
    """A string app/main_window.py really uses, with its committed translation."""
    uses, _ = i18n.extract(ROOT / "app" / "main_window.py")
    assert uses, "app/main_window.py has no translatable strings any more"
    use = uses[0]
    for context, message in i18n._messages(ET.parse(i18n.TS).getroot()):
        if context == use.context and message.findtext("source") == use.source:
            return use.context, use.source, message.findtext("translation") or ""
    pytest.fail(f"{use} not in {i18n.TS.name}")


def test_qm_translates_the_main_window(qapp) -> None:
    from PySide6.QtCore import QCoreApplication, QTranslator

    context, source, expected = _main_window_string()
    assert expected and expected != source
    translator = QTranslator()
    assert translator.load(str(i18n.QM))
    assert translator.language() == "zh_CN"
    assert translator.translate(context, source) == expected
    QCoreApplication.installTranslator(translator)
    try:
        assert QCoreApplication.translate(context, source) == expected
    finally:
        QCoreApplication.removeTranslator(translator)


def test_translations_render_in_the_bundled_font(qapp) -> None:
    """Every character of every translation has a glyph in the bundled CJK subset."""
    from PySide6.QtGui import QFontDatabase, QRawFont

    fonts = sorted((ROOT / "resources" / "fonts").glob("*.otf"))
    assert fonts, "no bundled font in resources/fonts"
    for path in fonts:
        font_id = QFontDatabase.addApplicationFont(str(path))
        assert font_id >= 0, path
        assert QFontDatabase.applicationFontFamilies(font_id) == ["Noto Sans CJK SC"]
        raw = QRawFont(str(path), 16)
        assert raw.isValid()
        # supportsCharacter(str) goes through QChar and misreports some hanzi; use ucs4.
        for phrase in ("充电桩计量监管", "检定证书", "°±Ωµ·—…→✓●▲①⑩≤≥×%（），。"):
            assert [c for c in phrase if not raw.supportsCharacter(ord(c))] == [], path
        text = "".join(
            "".join(i18n._translations(message))
            for _, message in i18n._messages(ET.parse(i18n.TS).getroot())
        )
        missing = sorted({c for c in text if not c.isspace() and not raw.supportsCharacter(ord(c))})
        assert missing == [], f"{path.name} lacks glyphs for {missing}; see scripts/make_font.py"
