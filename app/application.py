"""Builds the QApplication: bundled CJK font, translators, then the main window.

Translators are installed before any widget exists (Anki's order), so every
string is translated from the first paint.
"""

from __future__ import annotations

import argparse
import gc
import sys

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QSettings, QTranslator
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

from app import APP_NAME, ORG_NAME
from app.paths import RESOURCES

LANGUAGES = ("zh_CN", "en")
_translators: list[QTranslator] = []


def load_fonts() -> str | None:
    """Registers the bundled CJK font subset; returns its family name."""
    family = None
    for path in sorted((RESOURCES / "fonts").glob("*.[ot]tf")):
        font_id = QFontDatabase.addApplicationFont(str(path))
        families = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
        family = family or (families[0] if families else None)
    return family


def freeze_startup_objects() -> None:
    """Collects garbage once, then exempts everything alive from later collections.

    Start-up leaves ~130k objects tracked by Python's cyclic garbage collector
    (modules, classes, functions, Qt wrappers) that live as long as the process. Every
    full collection walks all of them (40–70 ms here), and the first one after start-up
    tended to fall into the first thing the user did: it was the largest single piece
    of the first pile detail's delay. Run once the window is up (``gc.freeze``), later
    full collections walk only what was created since (~0 ms).
    """
    gc.collect()
    gc.freeze()


def install_language(app: QCoreApplication, language: str) -> None:
    """Installs our .qm and Qt's own translations for ``language`` (zh_CN or en)."""
    for old in _translators:
        app.removeTranslator(old)
    _translators.clear()
    QLocale.setDefault(QLocale(language))
    if language == "en":
        return
    ours = QTranslator(app)
    if ours.load(str(RESOURCES / "i18n" / f"workstation_{language}.qm")):
        app.installTranslator(ours)
        _translators.append(ours)
    qt = QTranslator(app)
    if qt.load(f"qtbase_{language}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(qt)
        _translators.append(qt)


def chosen_language(settings: QSettings, override: str | None) -> str:
    language = override or str(settings.value("ui/language", "zh_CN"))
    return language if language in LANGUAGES else "zh_CN"


def create_application(argv: list[str], language: str | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv)
    QCoreApplication.setOrganizationName(ORG_NAME)
    QCoreApplication.setApplicationName(APP_NAME)
    family = load_fonts()
    if family:
        font = QFont(family)
        font.setPointSize(10)
        app.setFont(font)
    install_language(app, chosen_language(QSettings(), language))
    return app


DEMO_PASSWORD = "anxin-demo"


def _sign_in(store_url: str | None, demo: bool):
    """Signs the user in (first run: create the administrator). The demo signs in a
    demo regulator itself; its users are documented in the README."""
    from app.models import users
    from app.models.store import Store

    store = Store.open(store_url)
    try:
        if demo:
            with store.transaction() as conn:
                if not users.has_users(conn):
                    admin = users.create_first_administrator(
                        conn, "admin", "演示管理员", DEMO_PASSWORD
                    )
                    users.create_user(
                        conn, admin, "regulator", "演示监管人员", "regulator", DEMO_PASSWORD
                    )
                    users.create_user(
                        conn,
                        admin,
                        "inspector",
                        "演示检定员",
                        "inspector",
                        DEMO_PASSWORD,
                        inspector_id="INS001",
                    )
            with store.transaction() as conn:
                return users.sign_in(conn, "regulator", DEMO_PASSWORD)
        from app.views.sign_in import sign_in_flow
        from app.views.table_models import StoreReader

        reader = StoreReader(store)
        try:
            return sign_in_flow(store, reader)
        finally:
            reader.shutdown()
    finally:
        store.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="main.py", description="Open the workstation window.")
    parser.add_argument(
        "--lang", choices=LANGUAGES, help="UI language (default: saved, else zh_CN)"
    )
    parser.add_argument("--no-demo", action="store_true", help="do not start the embedded demo")
    parser.add_argument("--piles", type=int, default=0, help="demo: a small fleet of N piles")
    args = parser.parse_args(argv)
    app = create_application(sys.argv[:1], args.lang)
    from app.main_window import MainWindow
    from app.settings_dialog import log_list_settings

    settings = QSettings()
    log_list = log_list_settings(settings)  # the signed log list mode (issue 17), or None
    platform = str(settings.value("platform/url", "") or "")
    vkey = str(settings.value("platform/log_key", "") or "")
    store_url = str(settings.value("store/url", "") or "") or None
    demo = None
    if not platform and log_list is None and not args.no_demo:
        from app.demo import Demo

        demo = Demo(piles=args.piles)
        platform = demo.start()
        vkey = demo.vkey_path.read_text().strip()
        store_url = demo.store_url
    session = _sign_in(store_url, demo is not None)
    if session is None:
        if demo is not None:
            demo.stop()
        return 0
    window = MainWindow(
        store_url, platform or None, vkey or None, session=session, log_list=log_list
    )
    window.started.connect(freeze_startup_objects)
    rig = None
    if demo is not None:
        from app.devices.simulator import RigSimulator

        rig = RigSimulator(speed=10.0, true_error_pct=0.4, seed=2026)
        window.rig_ports = [rig.start()]  # the demo's simulated rig on a pseudo-terminal
    window.show()
    # SIGTERM/SIGINT quit the event loop so the demo and the workers stop cleanly; the
    # timer gives Python a moment every half second to run its signal handlers.
    import signal

    from PySide6.QtCore import QTimer

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: app.quit())
    heartbeat = QTimer()
    heartbeat.start(500)
    heartbeat.timeout.connect(lambda: None)
    try:
        return app.exec()
    finally:
        window.shutdown()
        if rig is not None:
            rig.stop()
        if demo is not None:
            demo.stop()
