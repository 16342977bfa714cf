"""The PostgreSQL sink: the records of a site kept in step in two tables, `records` (one
row per record, a deleted one keeps its row with `deleted_at` set) and `qa` (one row
per Q&A pair of a live record).

The sink creates its schema and upgrades an older one itself: `harvester_schema` holds
the versions applied, and each migration runs in its own transaction under an advisory
lock, so two harvesters starting at once do not race. A batch is one transaction:
applied whole or not at all. Applying a batch sets each row to what the events say
(never increments), so a batch delivered again leaves the same tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg

from ..changes import Event
from . import DeadLetter, SinkError, sink_name

CONNECT_TIMEOUT = 10  # seconds, unless the URL says otherwise
MESSAGE_CHARS = 300  # a server's DETAIL can quote a whole row
MIGRATION_LOCK = 0x68617276  # advisory lock key held while the schema is migrated

# Migration n (1-based) takes the schema from version n - 1 to n. Append, never edit:
# databases in the field hold the versions already applied.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE records (
            record_id text PRIMARY KEY,
            url text NOT NULL,
            title text,
            kind text,
            content_hash text NOT NULL,
            record jsonb,
            first_seen timestamptz NOT NULL,
            last_seen timestamptz NOT NULL,
            deleted_at timestamptz
        )""",
        """CREATE TABLE qa (
            record_id text NOT NULL REFERENCES records (record_id) ON DELETE CASCADE,
            position integer NOT NULL,
            question text NOT NULL,
            answer text NOT NULL,
            answered_by jsonb,
            PRIMARY KEY (record_id, position)
        )""",
    ),
    (  # what readers of the tables look up: a page by URL, what changed since a time
        "CREATE INDEX records_url ON records (url)",
        "CREATE INDEX records_last_seen ON records (last_seen)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

UPSERT_RECORDS = """
INSERT INTO records AS r (record_id, url, title, kind, content_hash, record,
                          first_seen, last_seen, deleted_at)
SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::text[],
                     %b::jsonb[], %b::timestamptz[], %b::timestamptz[], %b::timestamptz[])
ON CONFLICT (record_id) DO UPDATE SET
    url = excluded.url, title = excluded.title, kind = excluded.kind,
    content_hash = excluded.content_hash, record = excluded.record,
    last_seen = excluded.last_seen, deleted_at = excluded.deleted_at
"""
DELETE_QA = "DELETE FROM qa WHERE record_id = ANY(%b::text[])"
INSERT_QA = """
INSERT INTO qa (record_id, position, question, answer, answered_by)
SELECT * FROM unnest(%b::text[], %b::integer[], %b::text[], %b::text[], %b::jsonb[])
"""
MARK_DELETED = """
UPDATE records SET deleted_at = d.at
FROM unnest(%b::text[], %b::timestamptz[]) AS d (record_id, at)
WHERE records.record_id = d.record_id
"""


@dataclass
class Net:
    """What a batch leaves of one record, its events replayed in order: the last
    created/updated (if any), when it was first seen in the batch, and a deletion that
    came after it."""

    record_id: str
    event: Event | None = None
    first_at: str | None = None
    deleted_at: str | None = None


def fold(events: Iterable[Event]) -> list[Net]:
    """One Net per record, in order of first appearance: a batch can then be applied as
    a few set-based statements and still end as its events applied one by one."""
    nets: dict[str, Net] = {}
    for event in events:
        net = nets.setdefault(event.record_id, Net(event.record_id))
        if event.type == "deleted":
            net.deleted_at = event.at
        else:
            net.event, net.deleted_at = event, None
            net.first_at = net.first_at or event.at
    return list(nets.values())


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def record_columns(nets: Sequence[Net]) -> list[list[Any]]:
    """The records upsert's parameters: one array per column."""
    rows = []
    for net in nets:
        event = net.event
        if event is None or event.record is None:
            raise ValueError(f"the event of record {net.record_id} carries no record")
        record = event.record
        rows.append(
            (
                event.record_id,
                event.url,
                record.get("title"),
                record.get("kind"),
                event.content_hash,
                to_json(record),
                net.first_at,
                event.at,
                net.deleted_at,
            )
        )
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * 9


def qa_columns(nets: Sequence[Net]) -> list[list[Any]]:
    """The qa insert's parameters, one array per column: the pairs of live records."""
    rows = []
    for net in nets:
        record = net.event.record if net.event else None
        if record is None or net.deleted_at is not None:
            continue
        for position, pair in enumerate(record.get("qa") or ()):
            person = pair.get("answered_by")
            rows.append(
                (
                    net.record_id,
                    position,
                    pair.get("question"),
                    pair.get("answer"),
                    None if person is None else to_json(person),
                )
            )
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * 5


def one_line(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """The error on one line, with any secret of the URL blanked out (libpq echoes parts
    of a malformed URL)."""
    text = str(exc)
    for secret in secrets:
        text = text.replace(secret, "***")
    text = " ".join(text.split()) or type(exc).__name__
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 1] + "…"


def url_secrets(url: str) -> list[str]:
    parts = urlsplit(url)
    found = [parts.password or ""]
    found += parse_qs(parts.query).get("password", [])
    return [s for secret in found for s in (secret, unquote(secret)) if s]


class PostgresSink:
    """Events into the `records` and `qa` tables of a PostgreSQL database."""

    def __init__(self, url: str) -> None:
        self.name = sink_name(url)
        self._url = url
        self._secrets = url_secrets(url)
        self._conn = self._connect()
        try:
            self._migrate()
        except SinkError:
            self.close()
            raise
        except psycopg.Error as exc:
            self.close()
            raise SinkError(f"cannot set up {self.name}: {one_line(exc, self._secrets)}") from None

    def deliver(self, events: Sequence[Event]) -> list[DeadLetter]:
        """The batch in one transaction: on any error it rolls back and SinkError says why."""
        if not events:
            return []
        if self._conn.closed or self._conn.broken:
            self._conn = self._connect()
        try:
            self._apply(fold(events))
        except (psycopg.Error, TypeError, ValueError) as exc:
            message = one_line(exc, self._secrets)
            raise SinkError(f"{self.name}: batch rolled back: {message}") from None
        return []

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> PostgresSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect(self) -> psycopg.Connection[Any]:
        options: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in self._url:
            options["connect_timeout"] = CONNECT_TIMEOUT
        try:
            return psycopg.connect(self._url, **options)
        except psycopg.Error as exc:
            reason = one_line(exc, self._secrets)
            raise SinkError(f"cannot connect to {self.name}: {reason}") from None

    def _apply(self, nets: list[Net]) -> None:
        nets.sort(key=lambda net: net.record_id)  # rows locked in one order: no deadlock
        upserts = [net for net in nets if net.event is not None]
        deletions = [net for net in nets if net.event is None and net.deleted_at is not None]
        records, pairs = record_columns(upserts), qa_columns(upserts)  # may fail: before SQL
        with self._conn.transaction(), self._conn.cursor() as cur:
            if upserts:
                cur.execute(UPSERT_RECORDS, records)
            cur.execute(DELETE_QA, [[net.record_id for net in nets]])
            if pairs[0]:
                cur.execute(INSERT_QA, pairs)
            if deletions:
                ids = [net.record_id for net in deletions]
                cur.execute(MARK_DELETED, [ids, [net.deleted_at for net in deletions]])

    def _migrate(self) -> None:
        """Apply the migrations this database lacks, one transaction each."""
        for version, statements in enumerate(MIGRATIONS, 1):
            with self._conn.transaction(), self._conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATION_LOCK])
                cur.execute(
                    "CREATE TABLE IF NOT EXISTS harvester_schema ("
                    " version integer PRIMARY KEY,"
                    " applied_at timestamptz NOT NULL DEFAULT now())"
                )
                row = cur.execute("SELECT max(version) FROM harvester_schema").fetchone()
                current = row[0] if row and row[0] is not None else 0
                if current > SCHEMA_VERSION:
                    raise SinkError(
                        f"{self.name} has schema version {current}, newer than this "
                        f"harvester's {SCHEMA_VERSION}: upgrade harvester"
                    )
                if current >= version:
                    continue
                for statement in statements:
                    cur.execute(statement)
                cur.execute("INSERT INTO harvester_schema (version) VALUES (%s)", [version])


__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "PostgresSink"]
