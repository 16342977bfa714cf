"""What a run did: counts for the end-of-run summary, and the exit code."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field


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
    aliases: int = 0
    template_removed: int = 0
    repeats_removed: int = 0
    top_templates: list[tuple[str, int]] = field(default_factory=list)
    resumed: bool = False
    started: float = field(default_factory=time.monotonic)

    @property
    def exit_code(self) -> int:
        """0 complete, 1 partial (some pages failed), 3 nothing could be read."""
        if not self.failures:
            return 0
        return 1 if self.pages_fetched else 3


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
        f"Q&A {summary.qa}, aliases folded {summary.aliases}, "
        f"unchanged since last run {summary.unchanged})",
        f"  blocks removed    {summary.template_removed + summary.repeats_removed:>6}   "
        f"template {summary.template_removed}, in-page repeats {summary.repeats_removed}",
        f"  output            {'stdout' if target == '-' else target}",
    ]
    for text, pages in summary.top_templates[:3]:
        lines.append(f"  template on {pages:>3} pages: {text[:60]}")
    for failure in summary.failures[:5]:
        lines.append(f"  failed: {failure.url}: {failure.message}")
    if len(summary.failures) > 5:
        lines.append(f"  ... and {len(summary.failures) - 5} more failures")
    return "\n".join(lines)
