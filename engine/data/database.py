"""Reading a database query into a Parquet file, in batches, through Polars' database reader.

A source is a URL and a query: ``postgresql://user@host:5432/db`` (or ``postgres://``) with
``SELECT …``, or ``sqlite:///relative.db`` / ``sqlite:////absolute.db``. Both go through ADBC
(Apache Arrow Database Connectivity: ``adbc-driver-postgresql`` links libpq and reads results
with PostgreSQL's binary COPY; ``adbc-driver-sqlite``), installed with ``pip install
'kpconsole[db]'``. ADBC hands Polars Arrow record batches as the server sends them, so
:func:`read_query` writes each batch as it comes (a part file per batch) and never holds the
whole result: a table larger than memory is fine. The parts are then joined into one Parquet
file in a streaming pass, each column taking the type that holds every batch (an SQLite column
that is NULL in the first batch and integers later becomes integers).

A URL's password is never repeated: :func:`redact` replaces it with ``***``, and every message
raised here has it removed. Give it through ``PGPASSWORD`` or ``~/.pgpass`` (libpq reads
both) to keep it off the command line.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import polars as pl

from engine.errors import DataError
from engine.progress import Progress, no_progress

SCHEMES = {"postgresql": "postgresql", "postgres": "postgresql", "sqlite": "sqlite"}
INSTALL_HINT = "pip install 'kpconsole[db]'"
BATCH_BYTES = 16 << 20
"""About how many bytes of rows one batch from PostgreSQL holds (ADBC's size hint)."""
BATCH_ROWS = 100_000
"""Rows in one batch from SQLite."""


def is_database_url(text: str) -> bool:
    """Whether ``text`` names a database rather than a file.

    >>> is_database_url("postgresql://kp@db/platform"), is_database_url("sqlite:///a.db"), is_database_url("a.csv")
    (True, True, False)
    """
    scheme, sep, _ = str(text).partition("://")
    return bool(sep) and scheme.lower() in SCHEMES


def redact(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``.

    >>> redact("postgresql://kp:s3cret@db:5432/platform")
    'postgresql://kp:***@db:5432/platform'
    >>> redact("sqlite:///events.db")
    'sqlite:///events.db'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


@dataclass(frozen=True)
class DatabaseSource:
    """A query against a database, its URL kept whole only in memory (:attr:`label` is redacted)."""

    url: str
    query: str

    @property
    def scheme(self) -> str:
        return SCHEMES[self.url.partition("://")[0].lower()]

    @property
    def label(self) -> str:
        """The URL as messages, the catalog and the audit log show it: no password."""
        return redact(self.url)

    @property
    def password(self) -> str | None:
        try:
            secret = urlsplit(self.url).password
        except ValueError:
            return None
        return unquote(secret) if secret else None

    def scrub(self, text: str) -> str:
        """``text`` without the password (plain or URL-encoded) or the whole URL in it."""
        text = text.replace(self.url, self.label)
        for secret in {s for s in (self.password, urlsplit(self.url).password) if s}:
            text = text.replace(secret, "***")
        return text


def check_source(url: str, query: str | None) -> DatabaseSource:
    """The source ``url`` and ``query`` name; a :class:`DataError` for an unknown scheme, a
    missing query or a SQLite file that does not exist."""
    if not is_database_url(url):
        raise DataError(f"not a database URL (postgresql://… or sqlite:///…): {redact(url)}")
    if not query or not query.strip():
        raise DataError("a database source needs a query (SELECT …)", file=redact(url))
    source = DatabaseSource(url, query)
    if source.scheme == "sqlite":
        path = sqlite_path(url)
        if not path.is_file():
            raise DataError("no such SQLite file", file=str(path))
    return source


def sqlite_path(url: str) -> Path:
    """The file of ``sqlite:///relative.db`` or ``sqlite:////absolute.db`` (SQLAlchemy's form).

    >>> sqlite_path("sqlite:///data/app.db"), sqlite_path("sqlite:////srv/app.db")
    (PosixPath('data/app.db'), PosixPath('/srv/app.db'))
    """
    rest = url.partition("://")[2]
    return Path(unquote(rest[1:] if rest.startswith("/") else rest).split("?", 1)[0])


def _connect(source: DatabaseSource):
    """An ADBC connection to the source and a cursor set to stream in bounded batches."""
    try:
        if source.scheme == "postgresql":
            import adbc_driver_postgresql.dbapi as driver
        else:
            import adbc_driver_sqlite.dbapi as driver
    except ImportError:
        raise DataError(f"reading a {source.scheme} database needs its ADBC driver: {INSTALL_HINT}",
                        file=source.label) from None
    if source.scheme == "postgresql":
        url = "postgresql://" + source.url.partition("://")[2]
        conn = driver.connect(url)
        cursor = conn.cursor()
        cursor.adbc_statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(BATCH_BYTES)})
    else:
        conn = driver.connect(f"file:{sqlite_path(source.url)}?mode=ro")
        cursor = conn.cursor()
        cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
    return conn, cursor


def _plain(batch: pl.DataFrame) -> pl.DataFrame:
    """Arrow extension columns (PostgreSQL's numeric arrives as an opaque extension over text)
    as their storage type, so the ingest's converters see text or numbers."""
    extension = [name for name, dtype in batch.schema.items() if isinstance(dtype, pl.Extension)]
    return batch.with_columns(pl.col(name).ext.storage() for name in extension) if extension else batch


@dataclass(frozen=True)
class QueryResult:
    """What :func:`read_query` wrote."""

    path: Path
    rows: int
    batches: int


def read_query(source: DatabaseSource, dest: Path, progress: Progress = no_progress) -> QueryResult:
    """Run ``source.query`` and write its rows to ``dest`` (a Parquet file), batch by batch.

    Any failure (cannot connect, wrong password, query error, an empty result) is a
    :class:`DataError` whose message never holds the password.
    """
    parts = dest.with_name(dest.name + ".parts")
    parts.mkdir(parents=True, exist_ok=False)
    rows = batches = 0
    try:
        conn, cursor = _connect_or_fail(source)
        try:
            progress(0.0, "running the query")
            frames = pl.read_database(source.query, cursor, iter_batches=True, batch_size=BATCH_ROWS)
            for batch in frames:
                _plain(batch).write_parquet(parts / f"{batches:06d}.parquet")
                batches += 1
                rows += batch.height
                progress(0.0, f"read {rows:,} rows")
        except DataError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise DataError(f"the query failed: {_first_line(source, exc)}", file=source.label) from None
        finally:
            for closing in (cursor, conn):
                try:
                    closing.close()
                except Exception:  # noqa: BLE001 — closing a broken connection says nothing new
                    pass
        if rows == 0:
            raise DataError("the query returned no rows", file=source.label)
        files = sorted(parts.glob("*.parquet"))
        pl.concat([pl.scan_parquet(f) for f in files], how="vertical_relaxed").sink_parquet(dest)
    finally:
        shutil.rmtree(parts, ignore_errors=True)
    return QueryResult(dest, rows, batches)


def _first_line(source: DatabaseSource, exc: BaseException) -> str:
    """The driver's message in one line, its status prefix (``IO: [libpq]``) dropped, no password."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    for prefix in ("IO: ", "NOT_FOUND: ", "INVALID_ARGUMENT: ", "INTERNAL: ", "UNKNOWN: ", "[libpq] "):
        text = text.removeprefix(prefix)
    text = text.removeprefix("[libpq] ")
    return source.scrub(text)


def quoted(name: str) -> str:
    """``name`` as an SQL identifier (double quotes, doubled inside).

    >>> quoted('ts'), quoted('odd"name')
    ('"ts"', '"odd""name"')
    """
    return '"' + name.replace('"', '""') + '"'


def literal(mark: dict) -> str:
    """A mark (``{"type": …, "value": …}``) as an SQL literal in the source's own form.

    >>> literal({"type": "int", "value": 42}), literal({"type": "text", "value": "it's"})
    ('42', "'it''s'")
    """
    if mark["type"] in ("int", "float"):
        return repr(mark["value"])
    return "'" + str(mark["value"]).replace("'", "''") + "'"


def since(source: DatabaseSource, column: str, mark: dict | None) -> DatabaseSource:
    """The rows of ``source`` whose ``column`` is past ``mark`` (all of them without a mark)."""
    if mark is None:
        return source
    query = f"SELECT * FROM ({source.query}) AS refresh_rows WHERE {quoted(column)} > {literal(mark)}"
    return DatabaseSource(source.url, query)


def query_max(source: DatabaseSource, column: str) -> dict | None:
    """The largest ``column`` value among the rows of ``source`` as a mark, ``None`` when it
    has no rows; a :class:`DataError` when the query has no such column."""
    import datetime as dt

    import polars as pl

    conn, cursor = _connect_or_fail(source)
    try:
        names = pl.read_database(f"SELECT * FROM ({source.query}) AS refresh_rows LIMIT 0", cursor).columns
        if column not in names:  # (SQLite would read a quoted unknown name as a text literal)
            raise DataError(f"the since column '{column}' is not one of the query's columns ({', '.join(names)})",
                            file=source.label)
        cursor.close()
        cursor = conn.cursor()
        frame = pl.read_database(f"SELECT MAX({quoted(column)}) AS mark FROM ({source.query}) AS refresh_rows",
                                 cursor)
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"the query failed: {_first_line(source, exc)}", file=source.label) from None
    finally:
        for closing in (cursor, conn):
            try:
                closing.close()
            except Exception:  # noqa: BLE001
                pass
    value = _plain(frame)["mark"][0]
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return {"type": "datetime", "value": value.isoformat(sep=" ")}
    if isinstance(value, bool | int):
        return {"type": "int", "value": int(value)}
    if isinstance(value, float):
        return {"type": "float", "value": value}
    return {"type": "text", "value": str(value)}


def _connect_or_fail(source: DatabaseSource):
    try:
        return _connect(source)
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"cannot connect: {_first_line(source, exc)}", file=source.label) from None
