"""`python main.py screenshot --out DIR`: every view at 1600×1000, in Chinese and English.

Starts the demo (a small fleet unless --piles says otherwise), waits until the
workstation has synced a first batch, then grabs each view offscreen.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def _busiest_pile(store_url: str) -> tuple[str | None, str | None]:
    """The pile with the most anomalies (else sessions), and one of its sessions."""
    from sqlalchemy import func, select

    from app.models import store as st

    with st.Store.open(store_url) as store, store.engine.connect() as conn:
        pile = (
            conn.execute(
                select(st.anomalies.c.pile_id)
                .where(st.anomalies.c.pile_id.in_(select(st.piles.c.pile_id)))  # not a dispenser
                .group_by(st.anomalies.c.pile_id)
                .order_by(func.count().desc())
                .limit(1)
            ).scalar()
            or conn.execute(
                select(st.sessions.c.pile_id)
                .group_by(st.sessions.c.pile_id)
                .order_by(func.count().desc())
                .limit(1)
            ).scalar()
        )
        session = conn.execute(
            select(st.sessions.c.session_id).where(st.sessions.c.pile_id == pile).limit(1)
        ).scalar()
    return pile, session


def _busiest_dispenser(store_url: str) -> str | None:
    """The fuel dispenser with the most findings (else any), for the dispenser detail."""
    from sqlalchemy import func, select

    from app.models import store as st
    from app.models.fuel import tables as ft

    d = ft.dispensers.c
    with st.Store.open(store_url) as store, store.engine.connect() as conn:
        return conn.execute(
            select(st.anomalies.c.pile_id)
            .where(st.anomalies.c.pile_id.in_(select(d.dispenser_id)))
            .group_by(st.anomalies.c.pile_id)
            .order_by(func.count().desc())
            .limit(1)
        ).scalar() or conn.execute(select(d.dispenser_id).limit(1)).scalar()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="main.py screenshot", description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--piles", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=25, help="demo time before grabbing")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    args.out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QEventLoop, QTimer

    from app.application import create_application, install_language
    from app.demo import Demo
    from app.main_window import MainWindow

    app = create_application(sys.argv[:1], "zh_CN")
    demo = Demo(piles=args.piles, speed=600, fault_scale=400)
    platform = demo.start()
    vkey = demo.vkey_path.read_text().strip()

    def pump(seconds: float, until=None) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not (until and until()):
            loop = QEventLoop()
            QTimer.singleShot(100, loop.quit)
            loop.exec()

    try:
        pump(args.seconds)
        # One window per language: widgets take their texts when they are built.
        for language in ("zh_CN", "en"):
            install_language(app, language)
            window = MainWindow(demo.store_url, platform, vkey)
            window.resize(1600, 1000)
            window.show()
            pump(30, until=lambda w=window: w._last_sync is not None)
            window.reload_map()
            pile, session = _busiest_pile(demo.store_url)
            pump(3)
            if pile:
                window.open_pile(pile)
            if session:
                window.session_lookup.lookup_session_id(session)
            dispenser = _busiest_dispenser(demo.store_url)
            if dispenser:
                window.open_dispenser(dispenser)
            pump(4)
            for name, grab in window.screenshot_targets():
                path = args.out / f"{name}_{language}.png"
                grab().save(str(path))
                print(path)
            window.shutdown()
            window.deleteLater()
    finally:
        demo.stop()
    return 0
