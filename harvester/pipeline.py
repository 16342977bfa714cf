"""The pipeline end to end: fetch -> parse -> extract -> dedup -> emit.

This module only wires the stages together; each stage lives in its own module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .crawler import CrawlOptions, PageSource, crawl
from .dedup import DedupOptions, DedupStats, Removal, build_records, distinct_qa, page_id
from .formats import RecordWriter
from .models import Page, QARecord, Record
from .report import Failure, Summary
from .state import EmitLog


def records_of(
    pages: PageSource | list[Page],
    options: DedupOptions,
    summary: Summary,
    explain: Callable[[Removal], None] | None = None,
) -> list[Record]:
    """Dedup a crawl's pages into records, counting what was removed in the summary."""
    stats = DedupStats()
    records = list(build_records(pages, options, stats, explain))
    summary.records = len(records)
    summary.repeats_removed += stats.repeats
    summary.template_removed += stats.template
    summary.aliases += stats.aliases
    summary.top_templates = stats.top_templates
    summary.qa = sum(len(r.qa) for r in records)
    return records


def qa_records(records: list[Record], summary: Summary) -> list[QARecord]:
    found = distinct_qa(records)
    summary.qa = len(found)
    return found


def emit(
    records: Iterable[Record] | Iterable[QARecord],
    writer: RecordWriter,
    log: EmitLog,
    summary: Summary,
    full: bool = False,
    already_written: set[str] | None = None,
    deferred_marks: list[tuple[str, str]] | None = None,
    on_written: Callable[[int], None] | None = None,
) -> None:
    """Write each record once: skip what this run already wrote before it was interrupted,
    and (unless `full`) what an earlier run emitted with the same content.

    With `deferred_marks`, what was written is recorded there instead of in the log, for
    formats whose file is only complete when closed.
    """
    for record in records:
        content = record.content_hash()
        if already_written and record.id in already_written:
            continue
        if not full and log.emitted(record.id) == content:
            summary.unchanged += 1
            continue
        writer.write(record.to_dict())
        if deferred_marks is None:
            log.mark(record.id, content)
        else:
            deferred_marks.append((record.id, content))
        summary.written += 1
        if on_written is not None:
            on_written(summary.written)


__all__ = [
    "CrawlOptions",
    "DedupOptions",
    "Failure",
    "Summary",
    "crawl",
    "emit",
    "page_id",
    "qa_records",
    "records_of",
]
