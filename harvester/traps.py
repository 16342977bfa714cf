"""Crawler-trap defence: endless calendars, session-id URLs, faceted search.

A trap is an unbounded family of URLs; each rule bounds one family. The counts live in
memory, so a resumed crawl may admit a few more before the caps bite again.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

DIGITS = re.compile(r"\d+")


def path_template(url: str) -> str:
    """/calendar/2031-05/?day=3 and /calendar/2031-06/?day=4 share '/calendar/0-0/?day'."""
    parts = urlsplit(url)
    keys = "&".join(sorted(k.split("=", 1)[0] for k in parts.query.split("&") if k))
    return parts.netloc + DIGITS.sub("0", parts.path) + ("?" + keys if keys else "")


@dataclass
class TrapGuard:
    max_per_template: int = 50
    max_query_variants: int = 50
    templates: Counter[str] = field(default_factory=Counter)
    queries: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    capped: Counter[str] = field(default_factory=Counter)

    def admit(self, url: str, parent: str | None = None) -> bool:
        """Count the URL against its families; False once a family is full.

        Only URLs found on a page of the same template count against it: a calendar
        that links to its next month is a trap, a list linking to /article/1..900 is not.
        """
        parts = urlsplit(url)
        template = path_template(url)
        chained = parent is not None and path_template(parent) == template
        if chained and self.templates[template] >= self.max_per_template:
            self.capped["path template"] += 1
            return False
        if parts.query:
            variants = self.queries[parts.netloc + parts.path]
            if parts.query not in variants and len(variants) >= self.max_query_variants:
                self.capped["query variants"] += 1
                return False
            variants.add(parts.query)
        self.templates[template] += 1
        return True
