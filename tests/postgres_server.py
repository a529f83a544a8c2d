"""A real PostgreSQL server for the tests, started in a temporary folder and stopped after.

It needs Debian's ``postgresql`` package (``initdb`` and ``pg_ctl``, found on ``PATH`` or under
``/usr/lib/postgresql/*/bin``) and the ADBC driver (``pip install 'kpconsole[db]'``); without
them the tests that use it are skipped with "no PostgreSQL server". ``initdb`` refuses to run
as root, so as root the cluster is made and run as the ``postgres`` user the package creates.
The server listens on 127.0.0.1 only, on a free port, with password (SCRAM) authentication.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

USER = "kp"
PASSWORD = "pw-Zq7-kept-secret"
DATABASE = "postgres"


@dataclass(frozen=True)
class Server:
    host: str
    port: int

    def url(self, password: str | None = PASSWORD) -> str:
        secret = f":{password}" if password is not None else ""
        return f"postgresql://{USER}{secret}@{self.host}:{self.port}/{DATABASE}"

    def execute(self, *statements: str) -> None:
        """Run SQL as the test's own admin (not through kpconsole)."""
        import adbc_driver_postgresql.dbapi as pg

        with pg.connect(self.url()) as conn, conn.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
            conn.commit()

    def load(self, table: str, frame) -> None:
        """Create ``table`` holding ``frame`` (a Polars frame), replacing any table of that name."""
        frame.write_database(table, self.url(), engine="adbc", if_table_exists="replace")


def _binaries() -> Path | None:
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(folder: Path) -> list[str]:
    """The command prefix that runs initdb/pg_ctl as a user initdb accepts."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("skipped: no PostgreSQL server (running as root and there is no postgres user)")
    shutil.chown(folder, "postgres")
    return ["runuser", "-u", "postgres", "--"]


def start_server(folder: Path):
    """Start a server in ``folder``; yields a :class:`Server`, stops it after."""
    binaries = _binaries()
    if binaries is None:
        pytest.skip("skipped: no PostgreSQL server (install Debian's postgresql package)")
    pytest.importorskip("adbc_driver_postgresql", reason="skipped: no PostgreSQL driver (pip install 'kpconsole[db]')")
    (folder / "pw").write_text(PASSWORD + "\n")
    prefix = _as_server_user(folder)
    if prefix:
        shutil.chown(folder / "pw", "postgres")
    data, log = folder / "data", folder / "server.log"
    subprocess.run([*prefix, str(binaries / "initdb"), "-D", str(data), "-U", USER, "--auth=scram-sha-256",
                    f"--pwfile={folder / 'pw'}", "-E", "UTF8", "--no-sync"],
                   check=True, capture_output=True, timeout=120)
    port = _free_port()
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    started = subprocess.run([*prefix, str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                              "-o", options, "start"], capture_output=True, text=True, timeout=120)
    if started.returncode != 0:
        raise RuntimeError(f"pg_ctl start failed: {started.stderr}\n{log.read_text() if log.exists() else ''}")
    try:
        yield Server("127.0.0.1", port)
    finally:
        subprocess.run([*prefix, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def postgres():
    """A running PostgreSQL server for this test module, in a fresh folder of the system's
    temporary folder (pytest's own is private to the user, and the server may run as another)."""
    folder = Path(tempfile.mkdtemp(prefix="kp-postgres-"))
    try:
        yield from start_server(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
