"""The change feed's I/O: a run's events into the state's outbox, and from the outbox
into each sink, from that sink's own cursor.

Appending an event and recording the record's new state is one transaction; a sink's
cursor moves only after the sink took the batch. A kill at any moment therefore loses
no event and delivers none out of order; at worst a batch is delivered again
(at-least-once: receivers drop repeats by `event_id`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .changes import Event, Evidence, deleted_events, known_of, record_event
from .models import Record
from .report import Failure
from .sinks import DeadLetter, Sink, SinkError
from .state import CrawlState

DEFAULT_BATCH = 500


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def evidence_of(
    failures: Iterable[Failure], redirects: dict[str, list[str]], complete: bool
) -> Evidence:
    """What a run learned of pages that gave no record: their failures and redirects."""
    return Evidence(
        failures={f.url: f.message for f in failures},
        redirected={source for sources in redirects.values() for source in sources},
        complete=complete,
    )


def record_changes(
    state: CrawlState, records: Iterable[Record], evidence: Evidence, at: str | None = None
) -> list[Event]:
    """Compare the run's records with what the state knew, append an event for each
    change to the outbox, and return them in order."""
    at = at or now_iso()
    log = state.changes
    events: list[Event] = []
    ids: set[str] = set()
    aliases: set[str] = set()
    known = {k.record_id: k for k in log.all_known()}  # one query, not one a record
    with state.transaction():  # the run's events, all or none: a resumed run makes them
        for record in records:
            ids.add(record.id)
            aliases.update(record.aliases)
            data, content = record.to_dict(), record.content_hash()
            event = record_event(data, content, known.get(record.id), at)
            if event is not None:
                now = known_of(data, content)
                log.record(event, now)
                known[record.id] = now
                events.append(event)
        missing = [k for k in known.values() if k.record_id not in ids]
        for event in deleted_events(missing, evidence, aliases, at):
            log.record(event, None)
            events.append(event)
    return events


@dataclass
class Delivery:
    """What one delivery did, per sink."""

    delivered: Counter[str] = field(default_factory=Counter)
    dead: list[tuple[str, DeadLetter]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # sink -> why it stopped

    @property
    def complete(self) -> bool:
        return not self.errors


def deliver(state: CrawlState, sinks: Iterable[Sink], batch: int = DEFAULT_BATCH) -> Delivery:
    """Everything in the outbox after each sink's cursor, in order, in batches."""
    done = Delivery()
    for sink in sinks:
        _deliver_to(state, sink, batch, done)
    return done


def _deliver_to(state: CrawlState, sink: Sink, batch: int, done: Delivery) -> None:
    log = state.changes
    seq = log.cursor(sink.name)
    while pending := log.events_after(seq, batch):
        try:
            dead = sink.deliver([event for _, event in pending])
        except SinkError as exc:
            done.errors[sink.name] = str(exc)
            return
        seq = pending[-1][0]
        with state.transaction():
            for letter in dead:
                log.dead_letter(sink.name, letter)
            log.advance(sink.name, seq)
        done.delivered[sink.name] += len(pending) - len(dead)
        done.dead += [(sink.name, letter) for letter in dead]


__all__ = ["Delivery", "deliver", "evidence_of", "record_changes"]
