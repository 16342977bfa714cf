"""The file sink: the event stream appended to a JSON Lines file (`--changes FILE`,
`--sink file:///path/events.jsonl`). Each batch is written whole and synced before the
cursor moves, so a kill leaves at most a repeated batch, never a lost or torn event."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..changes import Event
from . import DeadLetter, SinkError


def path_of(url: str) -> Path:
    """file:///abs/events.jsonl or file:events.jsonl (relative to the working folder)."""
    parts = urlsplit(url)
    return Path(unquote(parts.netloc + parts.path))


class FileSink:
    def __init__(self, target: str | Path) -> None:
        self.path = path_of(target) if isinstance(target, str) else target
        self.name = f"file:{self.path.resolve()}"

    def deliver(self, events: Sequence[Event]) -> list[DeadLetter]:
        lines = "".join(event.to_json() + "\n" for event in events).encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as stream:
                _drop_torn_line(stream.name)
                stream.write(lines)
                stream.flush()
                os.fsync(stream.fileno())
        except OSError as exc:
            raise SinkError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        return []

    def close(self) -> None:
        pass


def _drop_torn_line(name: str) -> None:
    """A write cut by a kill can leave half a line at the end: cut it off, so that the
    batch written again starts on a line of its own."""
    with open(name, "rb+") as stream:
        end = stream.seek(0, os.SEEK_END)
        if end == 0:
            return
        stream.seek(end - 1)
        if stream.read(1) == b"\n":
            return
        cut = end
        while cut > 0:  # back to the last newline, a chunk at a time
            start = max(0, cut - (1 << 16))
            stream.seek(start)
            newline = stream.read(cut - start).rfind(b"\n")
            if newline >= 0:
                stream.truncate(start + newline + 1)
                return
            cut = start
        stream.truncate(0)
