"""Change events: what a run changed in a site's records, for systems kept in step.

Pure: this run's records, what the state knew of each record before, and the evidence
of pages gone, in; events out. A record is `created` when it is new, `updated` when its
content hash changed (with the fields that changed), `deleted` when its page is gone
(404 or 410), now redirects elsewhere, is folded into another record as a duplicate, or
has dropped out of a site crawled to the end. A 5xx or a timeout on revisit proves
nothing: no event. Unchanged records give none either.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

EventType = Literal["created", "updated", "deleted"]
DeleteReason = Literal["gone", "redirected", "duplicate", "dropped"]
GONE_STATUSES = frozenset({"HTTP 404", "HTTP 410"})
VOLATILE_FIELDS = frozenset({"fetched_at"})  # when a page was read is not what it says


@dataclass(frozen=True)
class Event:
    """One change to one record. `event_id` is the same for the same change however
    often it is delivered: receivers use it to drop duplicates."""

    event_id: str
    type: EventType
    record_id: str
    url: str
    at: str  # ISO 8601, UTC: when the run saw the change
    content_hash: str  # the record's (for deleted: its last known)
    record: dict[str, Any] | None = None  # created and updated
    changed: tuple[str, ...] = ()  # updated: the record fields whose values changed
    reason: DeleteReason | None = None  # deleted: why

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "event_id": self.event_id,
            "type": self.type,
            "record_id": self.record_id,
            "url": self.url,
            "at": self.at,
            "content_hash": self.content_hash,
        }
        if self.record is not None:
            data["record"] = self.record
        if self.type == "updated":
            data["changed"] = list(self.changed)
        if self.reason is not None:
            data["reason"] = self.reason
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        return cls(
            event_id=data["event_id"],
            type=data["type"],
            record_id=data["record_id"],
            url=data["url"],
            at=data["at"],
            content_hash=data["content_hash"],
            record=data.get("record"),
            changed=tuple(data.get("changed", ())),
            reason=data.get("reason"),
        )


@dataclass(frozen=True)
class Known:
    """What the state remembers of a record from earlier runs."""

    record_id: str
    url: str
    content_hash: str
    fields: dict[str, str] = field(default_factory=dict)  # field -> hash of its value
    aliases: tuple[str, ...] = ()


@dataclass
class Evidence:
    """What this run learned of pages that gave no record."""

    failures: dict[str, str] = field(default_factory=dict)  # url -> "HTTP 404", "timed out"
    redirected: set[str] = field(default_factory=set)  # urls that now redirect
    complete: bool = True  # the crawl reached every page it found (no --max-pages cut)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:32]


def field_hashes(record: dict[str, Any]) -> dict[str, str]:
    return {
        name: _digest(json.dumps(value, ensure_ascii=False, sort_keys=True))
        for name, value in record.items()
        if name not in VOLATILE_FIELDS
    }


def event_id(record_id: str, type_: str, content_hash: str) -> str:
    """Stable: one change of one record has one id, delivered once or ten times."""
    return _digest(record_id, type_, content_hash)


def known_of(record: dict[str, Any], content_hash: str) -> Known:
    return Known(
        record["id"], record["url"], content_hash, field_hashes(record), tuple(record["aliases"])
    )


def record_event(
    record: dict[str, Any], content_hash: str, before: Known | None, at: str
) -> Event | None:
    """created, updated (with the changed fields) or, for an unchanged record, None."""
    record_id = record["id"]
    if before is None:
        return Event(
            event_id(record_id, "created", content_hash),
            "created",
            record_id,
            record["url"],
            at,
            content_hash,
            record,
        )
    if before.content_hash == content_hash:
        return None
    now = field_hashes(record)
    changed = tuple(
        sorted(k for k in now.keys() | before.fields.keys() if now.get(k) != before.fields.get(k))
    )
    return Event(
        event_id(record_id, "updated", content_hash),
        "updated",
        record_id,
        record["url"],
        at,
        content_hash,
        record,
        changed,
    )


def deletion_reason(before: Known, evidence: Evidence, aliases: set[str]) -> DeleteReason | None:
    """Why a record this run did not give is gone, or None when nothing proves it: a
    server error or a timeout is not a deletion."""
    urls = (before.url, *before.aliases)
    if any(evidence.failures.get(url) in GONE_STATUSES for url in urls):
        return "gone"
    if before.url in evidence.redirected:
        return "redirected"  # (its URL is now an alias of the target: a redirect first)
    if before.url in aliases:
        return "duplicate"
    if any(url in evidence.failures for url in urls):
        return None  # 5xx, timeout, robots.txt unreadable: perhaps back next time
    return "dropped" if evidence.complete else None


def deleted_events(
    missing: Iterable[Known], evidence: Evidence, aliases: set[str], at: str
) -> Iterator[Event]:
    for before in missing:
        reason = deletion_reason(before, evidence, aliases)
        if reason is not None:
            eid = event_id(before.record_id, "deleted", before.content_hash)
            yield Event(
                eid, "deleted", before.record_id, before.url, at, before.content_hash, reason=reason
            )


__all__ = ["Event", "Evidence", "Known", "deleted_events", "known_of", "record_event"]
