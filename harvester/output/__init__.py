"""Outputs: records to JSON Lines, a JSON array, CSV or a Markdown folder; the 301 map.

Whatever the format, a user's previous output is never destroyed by a run that does not
finish: a file target is replaced by commit() only (abandon() and kill -9 leave it as it
was), JSON Lines is resumable from `TARGET.partial`, a Markdown folder changes file by
file on commit() and only ever loses files harvester wrote there. Streams (`-`, devices,
FIFOs) are written to directly; a symlink is followed and stays a link.
"""

from __future__ import annotations

import os
from typing import Protocol

from ..models import QARecord, Record
from ..settings import FORMATS, REDIRECT_FORMATS
from .files import (
    OutputError,
    cannot_write,
    check_writable,
    is_stream,
    open_destination,
    write_atomic,
)
from .markdown import MANIFEST, MarkdownOutput
from .records import CSV_COLUMNS, CsvOutput, JsonlOutput, JsonOutput, open_jsonl
from .redirects import write_redirects
from .render import markdown_of
from .slugs import site_path, slug_path

_BY_SUFFIX = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".jl": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".md": "markdown",
}


class RecordOutput(Protocol):
    """What the emit stage needs from an output, whatever its format."""

    target: str
    count: int  # records written this run
    already: set[str]  # ids an interrupted earlier run wrote (JSON Lines resume)
    slugs: dict[str, str]  # Markdown: record id -> relative .md path; others: {}

    def write(self, record: Record | QARecord) -> None: ...

    def commit(self, complete: bool = True) -> None: ...

    def abandon(self) -> None: ...


def format_for(target: str, fmt: str | None) -> str:
    """`--format`, or the one `-o` names: by extension, a folder (a trailing slash or an
    existing folder) is Markdown, and anything else (`-` included) JSON Lines."""
    if fmt:
        return fmt
    if target == "-":
        return "jsonl"
    if target.endswith(("/", os.sep)) or os.path.isdir(target):
        return "markdown"
    return _BY_SUFFIX.get(os.path.splitext(target)[1].lower(), "jsonl")


def open_output(fmt: str, target: str, *, resume: bool = False) -> RecordOutput:
    """The output for `--format fmt` at `target`. `resume` (a resumed run) continues a
    JSON Lines `.partial` file; the other formats are written whole every time."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if fmt == "markdown":
        return MarkdownOutput(target)
    if fmt == "jsonl":
        return open_jsonl(target, resume)
    destination = open_destination(target)
    return JsonOutput(target, destination) if fmt == "json" else CsvOutput(target, destination)


__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "MANIFEST",
    "REDIRECT_FORMATS",
    "CsvOutput",
    "JsonOutput",
    "JsonlOutput",
    "MarkdownOutput",
    "OutputError",
    "RecordOutput",
    "cannot_write",
    "check_writable",
    "format_for",
    "is_stream",
    "markdown_of",
    "open_output",
    "site_path",
    "slug_path",
    "write_atomic",
    "write_redirects",
]
