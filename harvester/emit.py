"""Emit stage: records as JSON Lines, flushed one by one so nothing written is lost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .output.files import OutputError, WholeFile, cannot_write, put_stdout

__all__ = ["JsonlWriter", "OutputError", "WholeFile", "cannot_write", "put_stdout", "written_ids"]


class JsonlWriter:
    """`-` is stdout. Each record is one line, flushed as soon as it is written; a line
    that cannot be written whole (disk full) is not left half-written in a file."""

    def __init__(self, target: str, append: bool = False) -> None:
        self.target = target
        self.count = 0
        self._file: WholeFile | None = None
        if target == "-":
            return
        path = Path(target)
        if path.is_dir():
            raise OutputError(f"cannot write to {target}: it is a folder")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = WholeFile(path, append)
        except OSError as exc:
            raise cannot_write(target, exc) from None

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        try:
            if self._file is None:
                put_stdout(line)
            else:
                self._file.put(line.encode("utf-8"))
        except OSError as exc:
            raise cannot_write(self.target, exc) from None
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

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
