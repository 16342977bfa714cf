"""Sinks: where change events are delivered, each from its own cursor in the outbox.

A sink takes a batch of events and either delivers all of them or raises `SinkError`
(the batch is tried again on the next delivery: at-least-once). Events a receiver
refuses for good (a webhook's 4xx other than 429) come back as dead letters, shown in
the summary and never retried. `open_sink` picks the sink by the URL's scheme.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from ..changes import Event


class SinkError(OSError):
    """A batch could not be delivered now; it stays in the outbox for the next try."""


@dataclass(frozen=True)
class DeadLetter:
    """An event the receiver refused for good."""

    event_id: str
    status: int
    message: str


class Sink(Protocol):
    name: str  # the sink's cursor key: its URL without credentials

    def deliver(self, events: Sequence[Event]) -> list[DeadLetter]:
        """Deliver every event (in order) or raise SinkError."""
        ...

    def close(self) -> None: ...


def sink_name(url: str) -> str:
    """The URL without user, password or query (where secrets hide): safe to log and
    to keep in the state file."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def open_sink(url: str, batch: int = 100) -> Sink:
    """The sink for a URL: postgresql://, http(s):// (webhooks) or file://…jsonl."""
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("postgresql", "postgres"):
        from .postgres import PostgresSink

        return PostgresSink(url)
    if scheme in ("http", "https"):
        from .webhook import WebhookSink

        return WebhookSink(url, batch=batch)
    if scheme == "file":
        from .file import FileSink

        return FileSink(url)
    raise SinkError(f"unknown sink {sink_name(url)!r}: use postgresql://, https:// or file://")


__all__ = ["DeadLetter", "Sink", "SinkError", "open_sink", "sink_name"]
