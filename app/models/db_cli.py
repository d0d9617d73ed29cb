"""``python main.py db upgrade|current [--db URL]``: create, migrate or inspect the store.

The workstation migrates its store on every start; this command exists for an office
administrator who wants to migrate a shared PostgreSQL database once, ahead of the
desktops, or check which schema revision a database is at.
"""

from __future__ import annotations

import argparse
import sys

from sqlalchemy.exc import SQLAlchemyError

from app.models.migrations import current_revision, head_revision
from app.models.store import URL_ENV, Store, StoreError, create_store_engine, default_url


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python main.py db",
        description="Create, migrate or inspect the workstation store (Alembic).",
    )
    parser.add_argument(
        "action",
        choices=("upgrade", "current"),
        help="upgrade: migrate to the newest schema; current: show the schema revision",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help=f"SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db "
        f"(default: ${URL_ENV} or the SQLite file in the data directory)",
    )
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    url = args.db or default_url()
    head = head_revision()
    try:
        if args.action == "upgrade":
            with Store.open(url) as store:
                print(f"{store.url}: at revision {current_revision(store.engine)} (head {head})")
            return 0
        engine = create_store_engine(url)
        try:
            current = current_revision(engine)
            shown = engine.url.render_as_string(hide_password=True)
        finally:
            engine.dispose()
    except StoreError as exc:
        print(f"db: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        print(f"db: cannot read the store's revision: {reason}", file=sys.stderr)
        return 1
    state = "up to date" if current == head else "needs `db upgrade`"
    print(f"{shown}: at revision {current or '(empty)'} (head {head}) - {state}")
    return 0 if current == head else 3
