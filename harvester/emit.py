"""Emit stage: records as JSON Lines, flushed one by one so nothing written is lost."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any


class OutputError(OSError):
    """The output cannot be written."""


class JsonlWriter:
    """`-` is stdout. Each record is one line, flushed as soon as it is written."""

    def __init__(self, target: str, append: bool = False) -> None:
        self.target = target
        self.count = 0
        if target == "-":
            self._stream: IO[str] = sys.stdout
            return
        path = Path(target)
        if path.is_dir():
            raise OutputError(f"cannot write to {target}: it is a folder")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._stream = path.open("a" if append else "w", encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"cannot write to {target}: {exc.strerror or exc}") from None

    def write(self, record: dict[str, Any]) -> None:
        try:
            self._stream.write(json.dumps(record, ensure_ascii=False) + "\n")
            self._stream.flush()
        except OSError as exc:
            raise OutputError(f"cannot write to {self.target}: {exc.strerror or exc}") from None
        self.count += 1

    def close(self) -> None:
        if self._stream is not sys.stdout:
            self._stream.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def written_ids(target: str) -> set[str]:
    """Ids of the records an interrupted run already wrote to `target`.

    A last line cut short by the interruption is removed, so the file stays valid
    JSON Lines and that record is written again.
    """
    path = Path(target)
    if target == "-" or not path.is_file():
        return set()
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) != len(data):
        with path.open("r+b") as handle:
            handle.truncate(len(complete))
    ids: set[str] = set()
    for line in complete.splitlines():
        try:
            ids.add(str(json.loads(line)["id"]))
        except (ValueError, KeyError, TypeError):
            continue
    return ids
