"""Record outputs written as one stream: JSON Lines, a JSON array, CSV.

Each takes Record or QARecord objects. A file target is only replaced by commit(); until
then the user's previous file stays as it was, also when the run is killed.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..models import QA, Person, QARecord, Record
from .files import (
    Destination,
    OutputError,
    WholeFile,
    cannot_write,
    is_stream,
    open_destination,
    real_file,
    sync_folder,
)

CSV_COLUMNS = (
    "id",
    "url",
    "title",
    "section",
    "kind",
    "question",
    "answer",
    "answered_by_name",
    "answered_by_credentials",
    "answered_by_title",
    "site",
    "published",
    "modified",
    "aliases",
    "text",
)

AnyRecord = Record | QARecord


class StreamOutput:
    """Shared lifecycle: pieces go to a Destination; commit() puts it in place once."""

    def __init__(self, target: str, destination: Destination) -> None:
        self.target = target
        self.count = 0
        self.already: set[str] = set()
        self.slugs: dict[str, str] = {}
        self._destination = destination
        self._done = False
        self._broken = False

    def write(self, record: AnyRecord) -> None:
        self._put(self._encode(record))
        self.count += 1

    def commit(self, complete: bool = True) -> None:
        """The run succeeded (`complete` or with some pages failed): put the output in
        place. A file whose earlier write failed half-way is never put in place."""
        if self._done:
            return
        if self._broken:
            self.abandon()
            raise OutputError(f"cannot write to {self.target}: an earlier write failed")
        self._put(self._ending())
        self._done = True
        try:
            self._destination.commit()
        except OSError as exc:
            self._destination.abandon()
            raise cannot_write(self.target, exc) from None

    def abandon(self) -> None:
        """The run failed or was interrupted: a replaced file stays as it was, a stream
        is ended still valid. Errors are left to the one that stopped the run."""
        if self._done:
            return
        self._done = True
        with contextlib.suppress(OSError):
            if not self._destination.replaces and not self._broken:
                self._destination.put(self._ending())
            self._destination.abandon()

    def _encode(self, record: AnyRecord) -> str:
        raise NotImplementedError

    def _ending(self) -> str:
        return ""

    def _put(self, text: str) -> None:
        if not text:
            return
        try:
            self._destination.put(text)
        except OSError as exc:
            self._broken = True
            raise cannot_write(self.target, exc) from None


# --- JSON Lines ----------------------------------------------------------------------


class JsonlOutput(StreamOutput):
    """One flushed line per record, so nothing written is lost."""

    def _encode(self, record: AnyRecord) -> str:
        return json.dumps(record.to_dict(), ensure_ascii=False) + "\n"


class Partial:
    """JSON Lines to a file: `TARGET.partial` beside it, one whole line per record,
    renamed over the target by commit(); abandon() keeps it for a resumed run."""

    replaces = True

    def __init__(self, path: Path, resume: bool) -> None:
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        self.ids = written_ids(self.partial) if resume else set()
        self._file = WholeFile(self.partial, append=resume)

    def put(self, text: str) -> None:
        self._file.put(text.encode("utf-8"))

    def commit(self) -> None:
        self._file.sync()
        self._file.close()
        self.partial.replace(self.path)
        sync_folder(self.path.parent)

    def abandon(self) -> None:
        """Kept for the resumed run when it holds records; an empty one is clutter."""
        with contextlib.suppress(OSError):
            self._file.close()
            if self._file.size == 0:
                self.partial.unlink()


def written_ids(partial: Path) -> set[str]:
    """Ids of the complete lines an interrupted run wrote; a torn last line is cut off,
    so that the file stays JSON Lines and that record is written again."""
    if not partial.is_file():
        return set()
    data = partial.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) != len(data):
        with partial.open("r+b") as handle:
            handle.truncate(len(complete))
    ids: set[str] = set()
    for line in complete.splitlines():
        with contextlib.suppress(ValueError, KeyError, TypeError):
            ids.add(str(json.loads(line)["id"]))
    return ids


def open_jsonl(target: str, resume: bool) -> JsonlOutput:
    if is_stream(target):
        return JsonlOutput(target, open_destination(target))
    try:
        partial = Partial(real_file(target), resume)
    except OutputError:
        raise
    except OSError as exc:
        raise cannot_write(target, exc) from None
    output = JsonlOutput(target, partial)
    output.already = partial.ids
    return output


# --- JSON array ----------------------------------------------------------------------


class JsonOutput(StreamOutput):
    """One JSON array, one record per line; to a stream it stays one valid array even
    when the run is abandoned (the closing bracket is written then)."""

    def _encode(self, record: AnyRecord) -> str:
        lead = ",\n" if self.count else "[\n"
        return lead + json.dumps(record.to_dict(), ensure_ascii=False)

    def _ending(self) -> str:
        return "\n]\n" if self.count else "[\n]\n"


# --- CSV -----------------------------------------------------------------------------


class CsvOutput(StreamOutput):
    """Flat CSV for spreadsheets: one row per Q&A, so each answer is its own cell.

    - A page gives one row per Q&A, its page columns repeated on each; a page without
      Q&A gives one row with empty question and answer, so no page is lost. `aliases` is
      the aliases joined by a space. `text` (the page text) is on the page's first row
      only, so a long FAQ page is not repeated once per question.
    - A Q&A record (`--emit qa`) gives one row: `url` is its urls joined by a space.
    - null is an empty cell; UTF-8, a header row, `\\r\\n` between rows.
    """

    def __init__(self, target: str, destination: Destination) -> None:
        super().__init__(target, destination)
        self.rows = 0
        self._put(_csv_text([list(CSV_COLUMNS)]))

    def _encode(self, record: AnyRecord) -> str:
        rows = list(csv_rows(record))
        self.rows += len(rows)
        return _csv_text(rows)


def _csv_text(rows: list[list[str]]) -> str:
    """One record's rows in one piece, so they are written (or cut off) together."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def csv_rows(record: AnyRecord) -> Iterator[list[str]]:
    """The CSV rows of one record, in CSV_COLUMNS order."""
    if isinstance(record, QARecord):
        base = {"id": record.id, "url": " ".join(record.urls), "site": record.site}
        single = QA(record.question, record.answer, record.answered_by)
        yield _row({**base, **_qa_cells(single)})
        return
    page: dict[str, Any] = {key: getattr(record, key, None) for key in CSV_COLUMNS}
    page["aliases"] = " ".join(record.aliases)
    questions: list[QA | None] = list(record.qa) or [None]
    for index, qa in enumerate(questions):
        cells = {**page, **_qa_cells(qa)}
        if index:
            cells["text"] = None
        yield _row(cells)


def _qa_cells(qa: QA | None) -> dict[str, Any]:
    if qa is None:
        return {}
    person = qa.answered_by or Person("")
    return {
        "question": qa.question,
        "answer": qa.answer,
        "answered_by_name": person.name or None,
        "answered_by_credentials": person.credentials,
        "answered_by_title": person.title,
    }


def _row(cells: dict[str, Any]) -> list[str]:
    return ["" if cells.get(key) is None else str(cells[key]) for key in CSV_COLUMNS]
