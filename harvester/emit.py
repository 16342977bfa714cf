"""Emit stage: records as JSON Lines, flushed one by one so nothing written is lost."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any


class OutputError(OSError):
    """The output cannot be written."""


def cannot_write(target: str, exc: OSError) -> OutputError:
    """The one-line error for a failed write: disk full (ENOSPC), over the file size limit
    (EFBIG), an I/O error (EIO), a closed pipe... all mean the same to the user."""
    return OutputError(f"cannot write to {target}: {exc.strerror or exc}")


class WholeFile:
    """A file written in whole pieces (a record, a CSV row group): a piece that cannot be
    written whole, because the disk is full, is cut off again, so that the file never ends
    in half a record and a resumed run can append to it."""

    def __init__(self, path: Path, append: bool = False) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | (0 if append else os.O_TRUNC)
        fd = os.open(path, flags, 0o666)
        self._file = os.fdopen(fd, "wb", buffering=0)
        self.size = os.fstat(fd).st_size

    def put(self, data: bytes) -> None:
        """Write all of `data` or, raising OSError, none of it."""
        view = memoryview(data)
        try:
            while view:
                view = view[self._file.write(view) or 0 :]
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._file.fileno(), self.size)
            raise
        self.size += len(data)

    def close(self) -> None:
        self._file.close()


def put_stdout(text: str) -> None:
    """Write to stdout and flush. When that fails (disk full, closed pipe), stdout is
    pointed at /dev/null, so that the exit does not fail again on what is left in its
    buffer with a traceback-like warning."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError:
        _silence_stdout()
        raise


def _silence_stdout() -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


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
