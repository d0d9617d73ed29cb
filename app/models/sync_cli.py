"""`python main.py sync`: verify and apply the platform's ledger, headless.

Exit status (one line on stderr says why, never a traceback):

* 0 synced;
* 1 offline: the platform cannot be reached, is too slow, or answered something
  unusable (garbled, oversized, truncated, a checkpoint that does not verify); the store
  is intact, just stale, and the attempt and its reason are in ``sync_state``;
* 2 bad arguments (including an invalid log key);
* 3 platform misbehaviour proven (evidence stored, sync halted), or the log is halted;
* 4 the workstation store cannot be opened or written, or an unexpected error.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from app.models import store as st
from app.models.analysis import analyse_batch
from app.models.list_sync import ListSync, ListUnavailable
from app.models.sync import LogSync, Misbehaviour, Offline, Progress, SyncError
from app.models.users import PermissionDenied, Session, SignInError, require, sign_in
from ledger.client import LogClient
from ledger.cosignature import PolicyError, WitnessPolicy
from ledger.loglist import LogListError
from ledger.note import NoteError, Verifier
from ledger.sigcheck import SignatureChecker

PASSWORD_ENV = "EVM_PASSWORD"


def read_vkey(value: str) -> str:
    """A verifier key given inline (name+hash+base64) or as a file holding one."""
    path = Path(value)
    if "+" not in value or path.exists():
        try:
            return path.read_text().strip()
        except OSError as exc:
            raise SystemExit(f"error: cannot read log key file {value}: {exc.strerror}") from exc
    return value.strip()


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class ProgressBar:
    def __init__(self, stream=sys.stderr) -> None:
        self.stream, self.last = stream, 0.0

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        if now - self.last < 0.2 and progress.done < progress.total:
            return
        self.last = now
        total = max(progress.total, 1)
        filled = int(30 * progress.done / total)
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (30 - filled)}] {progress.done:,}/{progress.total:,} "
            f"entries  {progress.rate:,.0f}/s  ETA {_fmt_eta(progress.eta)}  "
        )
        self.stream.flush()

    def done(self) -> None:
        self.stream.write("\n")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="main.py sync",
        description="Sync and verify the platform's ledger into the store.",
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--platform", help="platform URL (or a log directory)")
    parser.add_argument("--log-key", help="log verifier key, or a file with it")
    parser.add_argument(
        "--log-list",
        help="instead of --platform/--log-key: the signed log list (a file or URL); every "
        "log it names for --region is synced (docs/deployment.md)",
    )
    parser.add_argument("--list-key", help="the list authority's verifier key, or a file with it")
    parser.add_argument(
        "--region",
        default="",
        help="with --log-list: the office's division code prefix (GB/T 2260), e.g. 3301",
    )
    parser.add_argument("--db", default=None, help="SQLAlchemy URL (default: local SQLite)")
    parser.add_argument("--follow", action="store_true", help="keep syncing as the log grows")
    parser.add_argument("--workers", type=int, default=None, help="signature-check processes")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--witnesses",
        default=None,
        help="witness policy file ('quorum K' and 'witness VKEY [URL]' lines, "
        "docs/witness.md): refuse a checkpoint without K of the named witnesses' cosignatures",
    )
    parser.add_argument(
        "--clear-halt",
        action="store_true",
        help="administrator: resume a log halted after misbehaviour (evidence is kept); "
        "needs --user",
    )
    parser.add_argument(
        "--user",
        help=f"who clears the halt; the password is read from ${PASSWORD_ENV}, else from "
        "stdin when it is not a terminal, else prompted",
    )
    args = parser.parse_args(argv)
    if args.clear_halt and not args.user:
        parser.error("--clear-halt changes the store: sign in with --user NAME")
    if args.log_list:
        if args.platform or args.log_key:
            parser.error("give either --log-list (with --list-key) or --platform/--log-key")
        if not args.list_key:
            parser.error("--log-list needs --list-key (the list authority's verifier key)")
        if args.clear_halt:
            parser.error("--clear-halt is per log: give that log's --platform and --log-key")
        return _list_main(args)
    if not (args.platform and args.log_key):
        parser.error("give --platform and --log-key, or --log-list and --list-key")
    try:
        policy = WitnessPolicy.load(args.witnesses) if args.witnesses else None
    except PolicyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        client = LogClient(args.platform, read_vkey(args.log_key), witnesses=policy)
    except NoteError as exc:
        print(f"error: the log key is not valid: {exc}", file=sys.stderr)
        return 2
    try:
        store = st.Store.open(args.db)
    except Exception as exc:  # StoreError and whatever the driver raises: one line
        said = str(exc) if isinstance(exc, st.StoreError) else f"{type(exc).__name__}: {exc}"
        if not said.startswith("cannot open the workstation store"):
            said = f"cannot open the workstation store: {said}"
        print(f"error: {said}", file=sys.stderr)
        client.close()
        return 4
    if args.clear_halt:
        try:
            session = cli_sign_in(store, args.user)
            clear_halt(store, client.origin, session)
        except (SignInError, PermissionDenied) as exc:
            print(f"error: the halt was not cleared: {exc}", file=sys.stderr)
            client.close()
            store.close()
            return 2
    checker = SignatureChecker(args.workers)
    sync = LogSync(store, client, checker, on_batch=analyse_batch)
    try:
        return _run(sync, args)
    finally:
        sync.close()
        checker.close()
        client.close()
        store.close()


_EXIT = {"ok": 0, "offline": 1, "error": 4, "halted": 3, "misbehaviour": 3}
_SEVERITY = {0: 0, 1: 1, 4: 2, 3: 3}  # which exit status a list run with several reports


def _list_main(args: argparse.Namespace) -> int:
    """Every log of the signed list for the office's region, concurrently; one line per
    log. The exit status is the worst log's (misbehaviour 3 > error 4 > offline 1)."""
    try:
        policy = WitnessPolicy.load(args.witnesses) if args.witnesses else None
        authority = Verifier(read_vkey(args.list_key))
    except (PolicyError, NoteError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        store = st.Store.open(args.db)
    except Exception as exc:
        print(f"error: cannot open the workstation store: {exc}", file=sys.stderr)
        return 4
    sync = ListSync(
        store,
        authority,
        args.log_list,
        args.region,
        checker=SignatureChecker(args.workers),
        on_batch=analyse_batch,
        witnesses=policy,
    )
    after: dict[str, int] = {}
    try:
        while True:
            try:
                result = sync.sync_once(wait_after=after or None)
            except (LogListError, ListUnavailable) as exc:
                print(f"error: the log list is refused: {exc}", file=sys.stderr)
                return 3 if isinstance(exc, LogListError) else 1
            if result.list_note:
                print(f"note: {result.list_note}", file=sys.stderr)
            worst = 0
            for outcome in result.outcomes:
                code = _EXIT[outcome.status]
                worst = max(worst, code, key=_SEVERITY.__getitem__)
                if outcome.result is not None:
                    r = outcome.result
                    print(
                        f"{outcome.origin}: synced {r.applied:,} entries "
                        f"({r.old_size:,} → {r.new_size:,}) in {r.seconds:.1f} s; "
                        f"checkpoint {r.checkpoint.size:,} root {r.checkpoint.root.hex()[:16]}…",
                        flush=True,
                    )
                    after[outcome.origin] = r.checkpoint.size
                else:
                    print(f"{outcome.origin}: {outcome.status}: {outcome.error}", file=sys.stderr)
                    after.pop(outcome.origin, None)
            if not result.outcomes:
                print(f"no log of list {result.sequence} covers region {args.region!r}")
            if not args.follow:
                return worst
            if worst:
                time.sleep(2)  # retry pacing while a log is offline, not a test timing
    finally:
        sync.checker.close()
        sync.close()
        store.close()


def cli_sign_in(store: st.Store, username: str) -> Session:
    """Signs ``username`` in for one CLI action (audited like a GUI sign-in).

    The password comes from ``$EVM_PASSWORD`` (a service account's secret, set by
    whoever runs the job), else from stdin when it is piped, else from a prompt; it
    never appears on the command line, where ``ps`` would show it.
    """
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        if sys.stdin is not None and not sys.stdin.isatty():
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = getpass.getpass(f"password of {username}: ")
    with store.transaction() as conn:
        return sign_in(conn, username, password)


def clear_halt(store: st.Store, origin: str, session: Session) -> None:
    """Resumes a log halted after platform misbehaviour; the evidence stays in the store.

    Refused unless ``session`` may ``sync.clear_halt``; audited under that user (issue 13
    item 2: it used to need no sign-in and audited "admin").
    """
    require(session, "sync.clear_halt")
    with store.transaction() as conn:
        state = st.get_sync_state(conn, origin)
        if state is None or state.status != "halted":
            return
        st.put_sync_state(conn, st.SyncState(**{**state.__dict__, "status": "idle"}))
        st.write_audit(conn, session.username, "clear-halt", origin, {"was": state.last_error})


def _run(sync: LogSync, args: argparse.Namespace) -> int:
    bar = None if args.quiet else ProgressBar()
    after = None
    while True:
        try:
            result = sync.sync_once(on_progress=bar, wait_after=after)
        except Misbehaviour as exc:
            if bar:
                bar.done()
            print(f"PLATFORM MISBEHAVIOUR ({exc.kind}): {exc}", file=sys.stderr)
            print(
                "Sync of this log is halted; the evidence is saved in the store.", file=sys.stderr
            )
            return 3
        except Offline as exc:
            state = sync.store.get_sync_state(sync.origin)
            since = state.last_success_at if state else None
            stale = f"; data is as of {since:%Y-%m-%d %H:%M:%S} UTC" if since else ""
            print(f"offline: {exc}{stale}", file=sys.stderr)
            if not args.follow:
                return 1
            time.sleep(2)  # retry pacing while offline, not a test timing
            continue
        except SyncError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 3
        except Exception as exc:  # never a traceback: one line a regulator can pass on
            if bar:
                bar.done()
            print(f"error: the sync stopped: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 4
        if bar and result.applied:
            bar.done()
        rate = result.applied / result.seconds if result.seconds else 0
        print(
            f"{datetime.now(UTC):%H:%M:%S} synced {result.applied:,} entries "
            f"({result.old_size:,} → {result.new_size:,}) in {result.seconds:.1f} s, "
            f"{rate:,.0f} entries/s; checkpoint {result.checkpoint.size:,} "
            f"root {result.checkpoint.root.hex()[:16]}…",
            flush=True,
        )
        if not args.follow:
            return 0
        after = result.checkpoint.size
