"""``python main.py db upgrade|current|partitions|archive [--db URL]``: create, migrate or
inspect the store; on an office's PostgreSQL, maintain and archive its month partitions.

The workstation migrates its store on every start; this command exists for an office
administrator who wants to migrate a shared PostgreSQL database once, ahead of the
desktops, or check which schema revision a database is at. ``partitions`` gives every
month waiting in a DEFAULT partition its own (``app.models.partitions.maintain``) and
lists them; ``archive --before YYYY-MM`` detaches the months before that one into the
``evm_archive`` schema as plain tables, recorded in the audit log (PostgreSQL only).
"""

from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy.exc import SQLAlchemyError

from app.models import partitions as pt
from app.models.migrations import current_revision, head_revision
from app.models.store import URL_ENV, Store, StoreError, create_store_engine, default_url


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python main.py db",
        description="Create, migrate or inspect the workstation store (Alembic).",
    )
    parser.add_argument(
        "action",
        choices=("upgrade", "current", "partitions", "archive"),
        help="upgrade: migrate to the newest schema; current: show the schema revision; "
        "partitions: split DEFAULT into months and list them; archive: detach old months "
        "(PostgreSQL)",
    )
    parser.add_argument(
        "--before",
        metavar="YYYY-MM",
        help="archive: detach every month partition before this month",
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
    if args.action in ("partitions", "archive"):
        return _partitions(args.action, url, args.before)
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


def _partitions(action: str, url: str, before: str | None) -> int:
    """``partitions`` / ``archive``: 0 done, 1 store error, 2 refused (arguments, SQLite)."""
    cutoff = None
    if action == "archive":
        if before is None:
            print("db archive: give --before YYYY-MM (the first month to keep)", file=sys.stderr)
            return 2
        try:
            cutoff = pt.parse_month(before)
        except ValueError as exc:
            print(f"db archive: {exc}", file=sys.stderr)
            return 2
    try:
        with Store.open(url) as store:
            if store.dialect != "postgresql":
                print(
                    f"db {action}: {store.url} is a {store.dialect} store, which is not "
                    "partitioned; month partitions and archiving need the office's PostgreSQL",
                    file=sys.stderr,
                )
                return 2
            with store.transaction() as conn:
                if cutoff is None:
                    created = pt.maintain(conn)
                    months = pt.months(conn)
                    waiting = pt.default_rows(conn)
                    archived = pt.archived_months(conn)
                else:
                    done = pt.archive_before(conn, cutoff, _who())
    except pt.PartitionError as exc:
        print(f"db {action}: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"db: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        print(f"db {action}: {reason}", file=sys.stderr)
        return 1
    if cutoff is None:
        label = ", ".join(pt.month_label(m) for m in months) or "none"
        print(f"{store.url}: month partitions {label}")
        if created:
            print(f"created: {', '.join(pt.month_label(m) for m in created)}")
        if archived:
            print(f"archived: {', '.join(pt.month_label(m) for m in archived)}")
        print(f"sessions outside any month (DEFAULT partition): {waiting}")
        return 0
    if not done:
        print(f"{store.url}: nothing to archive before {pt.month_label(cutoff)}")
        return 0
    for item in done:
        print(
            f"archived {pt.month_label(item.month)}: {item.rows} rows, now plain tables "
            f"{', '.join(item.tables)}"
        )
    return 0


def _who() -> str:
    """The audit log's user for a command-line archive: the operating-system account."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name and no passwd entry (a container)
        return "cli"
