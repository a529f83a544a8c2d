"""A workspace folder: ``state.db`` plus ``data/``, ``models/`` and ``logs/``.

``state.db`` is SQLite in WAL mode with foreign keys on and a busy timeout, so several
processes (a TUI, a job, a scripted CLI call, a second admin) share it safely. Writes go
through :meth:`Workspace.transaction`, which takes the write lock up front (``BEGIN
IMMEDIATE``) and retries while another process holds it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from store import migrations
from store.clock import now as utc_now
from store.errors import Remedy, WorkspaceMissing, WorkspaceTooNew

if TYPE_CHECKING:
    import sqlite_utils

DB_NAME = "state.db"
FOLDERS = ("data", "models", "logs")
BUSY_TIMEOUT_MS = 30_000
LOCK_RETRIES = 20


def default_location() -> Path:
    """``$KPCONSOLE_WORKSPACE``, else ``$XDG_DATA_HOME/kpconsole/workspace`` (~/.local/share/…)."""
    env = os.environ.get("KPCONSOLE_WORKSPACE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "kpconsole" / "workspace"


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=True)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


class Workspace:
    """An open workspace. Cheap to create; one SQLite connection per thread that uses it."""

    clock: Callable[[], str] = staticmethod(utc_now)
    """What :meth:`now` reads: the store's clock for every workspace (a test sets it once, on the
    class or on one workspace, to freeze every time the store writes)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self._local = threading.local()

    def now(self) -> str:
        """The time the store writes now: ISO-8601 in UTC, to the millisecond."""
        return self.clock()

    # --- opening ------------------------------------------------------------------------

    @classmethod
    def create(cls, root: Path) -> Workspace:
        """Create the folder and its database (or upgrade an existing one); returns it open."""
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        for folder in FOLDERS:
            (root / folder).mkdir(exist_ok=True)
        ws = cls(root)
        conn = ws.conn
        conn.execute("PRAGMA journal_mode = WAL")
        ws._migrate()
        return ws

    @classmethod
    def open(cls, root: Path) -> Workspace:
        """Open an existing workspace, upgrading its schema when it is older than this code."""
        root = Path(root)
        if not (root / DB_NAME).is_file():
            raise WorkspaceMissing(f"no workspace at {root}", Remedy("create one with", "init", (("workspace", str(root)),)))
        ws = cls(root)
        try:
            ws._migrate()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):
                raise
            raise WorkspaceMissing(f"{root / DB_NAME} is not a kpconsole database ({exc})") from None
        return ws

    @staticmethod
    def exists(root: Path) -> bool:
        return (Path(root) / DB_NAME).is_file()

    # --- connections and transactions ---------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.root / DB_NAME)
            self._local.conn = conn
        return conn

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        """The rows of a SELECT as column → value dicts, on plain :mod:`sqlite3`.

        Reads do not go through sqlite-utils: importing it costs about a quarter of a second
        (it loads NumPy, Click and dateutil), which every read command and every shell
        completion would pay. Writes and schema inspection use :attr:`db`.
        """
        cursor = self.conn.execute(sql, tuple(params))
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    @property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils over this thread's connection (for writes and schema inspection)."""
        db = getattr(self._local, "db", None)
        if db is None:
            import sqlite_utils  # see query(): not loaded by reads

            db = sqlite_utils.Database(self.conn)
            self._local.db = db
        return db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: all of it commits, or none of it."""
        conn = self.conn
        for attempt in range(LOCK_RETRIES):
            try:
                conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                time.sleep(min(0.05 * 2**attempt, 1.0))
        else:
            conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check``: ``"ok"``, or the first problem it found."""
        return str(self.conn.execute("PRAGMA integrity_check").fetchone()[0])

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
            self._local.db = None

    # --- schema -------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def _applied_migrations(self, conn: sqlite3.Connection) -> set[int] | None:
        """Versions recorded in ``schema_migrations``; None when the table does not exist yet."""
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        ).fetchone()
        if not exists:
            return None
        return {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}

    def _migrate(self) -> None:
        """Apply every known migration this workspace lacks, each in its own transaction.

        Which migrations ran is recorded per version (``schema_migrations``), so one that
        lands with a lower number than another already applied still runs. ``user_version``
        holds the highest applied version; a workspace with a version this code does not know
        was made by a newer kpconsole and is refused untouched.

        Plain SQL throughout, like the migrations themselves: this runs before the tables the
        Table API would write exist, and on whatever command first opens an older workspace —
        a read one included, which must not load sqlite-utils.
        """
        known = migrations.discover()
        known_versions = {v for v, _, _ in known}
        latest = max(known_versions, default=0)
        applied = self._applied_migrations(self.conn)
        unknown = (applied or set()) - known_versions
        if self.schema_version > latest or unknown:
            raise WorkspaceTooNew(
                f"workspace {self.root} has schema version {max([self.schema_version, *unknown])}, newer than this "
                f"kpconsole understands ({latest}); upgrade kpconsole to open it"
            )
        if applied is not None and known_versions <= applied:
            return
        for version, name, up in known:
            with self.transaction() as conn:
                # Re-read inside the lock: another process may have migrated meanwhile.
                done = self._applied_migrations(conn)
                if done is None:
                    conn.execute(
                        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                        " applied_at TEXT NOT NULL)"
                    )
                    # A workspace from before this table: its user_version says what ran.
                    legacy = conn.execute("PRAGMA user_version").fetchone()[0]
                    done = {v for v in known_versions if v <= legacy}
                    conn.executemany(
                        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                        [(v, n, self.now()) for v, n, _ in known if v in done],
                    )
                if version in done:
                    continue
                up(conn)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", (version, name, self.now())
                )
                conn.execute(f"PRAGMA user_version = {max(done | {version})}")

    # --- folders ------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"
