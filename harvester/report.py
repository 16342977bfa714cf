"""What a run did: counts for the end-of-run summary, and the exit code."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from .sinks import DeadLetter


@dataclass
class Failure:
    url: str
    kind: str
    message: str


@dataclass
class Summary:
    pages_fetched: int = 0
    not_modified: int = 0
    non_html: int = 0
    out_of_scope: int = 0
    robots_blocked: int = 0
    trap_capped: Counter[str] = field(default_factory=Counter)
    over_limit: int = 0
    failures: list[Failure] = field(default_factory=list)
    records: int = 0
    written: int = 0
    unchanged: int = 0
    qa: int = 0
    aliases: int = 0  # pages folded into another record as duplicates
    template_removed: int = 0
    repeats_removed: int = 0
    top_templates: list[tuple[str, int]] = field(default_factory=list)  # removed: text, pages
    skipped_files: list[str] = field(default_factory=list)  # input files not read, and why
    resumed: bool = False
    started: float = field(default_factory=time.monotonic)
    changes: Counter[str] = field(default_factory=Counter)  # events by type
    delivered: Counter[str] = field(default_factory=Counter)  # events by sink
    dead_letters: list[tuple[str, DeadLetter]] = field(default_factory=list)
    sink_errors: dict[str, str] = field(default_factory=dict)  # sink -> why it stopped

    @property
    def exit_code(self) -> int:
        """0 complete, 1 partial (some pages failed, some events not delivered), 3
        nothing could be read."""
        if self.failures and not self.pages_fetched:
            return 3
        return 1 if self.failures or self.sink_errors else 0


def format_summary(summary: Summary, source: str, target: str, emit: str) -> str:
    """One screen: what was read, what was written, what was removed or skipped."""
    elapsed = time.monotonic() - summary.started
    skipped = [
        f"robots.txt {summary.robots_blocked}",
        f"off-site {summary.out_of_scope}",
        f"non-HTML {summary.non_html}",
        f"--max-pages {summary.over_limit}",
    ] + [f"{name} cap {count}" for name, count in sorted(summary.trap_capped.items())]
    lines = [
        f"harvester: {source} in {elapsed:.1f} s" + (" (resumed)" if summary.resumed else ""),
        f"  pages read        {summary.pages_fetched:>6}   unchanged (304) {summary.not_modified}, "
        f"failed {len(summary.failures)}",
        f"  skipped               {'':>2}   " + ", ".join(skipped),
        f"  records written   {summary.written:>6}   ({emit}; pages {summary.records}, "
        f"Q&A {summary.qa}, duplicates folded {summary.aliases}, "
        f"unchanged since last run {summary.unchanged})",
        f"  blocks removed    {summary.template_removed + summary.repeats_removed:>6}   "
        f"template {summary.template_removed}, in-page repeats {summary.repeats_removed}",
        f"  output            {'stdout' if target == '-' else target}",
    ]
    if summary.changes or summary.delivered or summary.sink_errors:
        lines += _feed_lines(summary)
    for text, pages in summary.top_templates[:3]:
        lines.append(f"  template on {pages:>3} pages: {_one_line(text)[:60]}")
    for note in summary.skipped_files[:5]:
        lines.append(f"  skipped: {note}")
    if len(summary.skipped_files) > 5:
        lines.append(f"  ... and {len(summary.skipped_files) - 5} more files skipped")
    for failure in summary.failures[:5]:
        lines.append(f"  failed: {failure.url}: {failure.message}")
    if len(summary.failures) > 5:
        lines.append(f"  ... and {len(summary.failures) - 5} more failures")
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _feed_lines(summary: Summary) -> list[str]:
    changes = summary.changes
    lines = [
        f"  changes           {sum(changes.values()):>6}   created {changes['created']}, "
        f"updated {changes['updated']}, deleted {changes['deleted']}"
    ]
    for sink, count in sorted(summary.delivered.items()):
        lines.append(f"  delivered         {count:>6}   to {sink}")
    for sink, letter in summary.dead_letters[:5]:
        lines.append(f"  dead letter: {sink}: {letter.event_id}: {letter.status} {letter.message}")
    if len(summary.dead_letters) > 5:
        lines.append(f"  ... and {len(summary.dead_letters) - 5} more dead letters")
    for sink, error in sorted(summary.sink_errors.items()):
        lines.append(f"  not delivered: {sink}: {error} (run `harvester deliver` to resume)")
    return lines


def format_delivery(summary: Summary, source: str) -> str:
    """`harvester deliver`: what went where."""
    lines = [f"harvester: delivered events of {source}", *_feed_lines(summary)[1:]]
    if not summary.delivered and not summary.sink_errors:
        lines.append("  nothing new to deliver")
    return "\n".join(lines)
