"""`--report FILE.html`: one self-contained page to review a run before importing it.

Everything taken from records, removals or failures is text from the open web. In markup it
goes through `html.escape`; the per-record bodies travel as JSON (with `<`, `>`, `&` escaped,
so it cannot end its <script> element) and the page's script builds them from text nodes
and a fixed set of tags. The Content-Security-Policy lets only the page's own script and style
run (by hash), and nothing is loaded from the network. Work is linear in records plus
removals (removals are indexed by URL once); a body is built only when its <details> opens,
so a 10,000-record report opens in seconds instead of building every record's text up front.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .output import OutputError, write_atomic
from .report import Failure, Summary
from .sinks import DeadLetter

TOP_TEMPLATES = 50
REASONS = ("template", "repeat", "duplicate-page")
Node = list[Any]  # [tag, [child, ...]] or ["a", [text], href]
Child = Node | str
PAGE_HEADS = ("Title", "Kind", "Q&amp;A", "URL", "Aliases")

STYLE = """
:root{color-scheme:light dark;--mute:#777;--line:#8884;--mark:#fd04}
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:0 1rem 4rem}
header{border-bottom:1px solid var(--line);padding:.6rem 0}
h1{font-size:1.3rem;margin:.2rem 0}h2{font-size:1.1rem;margin:1.6rem 0 .4rem}
h4{margin:.6rem 0 .2rem}nav a{margin-right:.8rem}.mute,small{color:var(--mute)}
.stats{display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.5rem}
.stats div{border:1px solid var(--line);border-radius:6px;padding:.4rem .6rem}
.stats dt{color:var(--mute);font-size:.85rem}.stats dd{margin:0;font-size:1.3rem}
table{border-collapse:collapse;width:100%}th{text-align:left;position:sticky;top:0;background:Canvas}
td,th{border-bottom:1px solid var(--line);padding:.2rem .4rem;vertical-align:top}
td.t{max-width:34ch}td.u{max-width:40ch}td.t,td.u{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
td.n{text-align:right;width:4rem}#q{font:inherit;padding:.3rem .5rem;width:22rem;max-width:100%}
details{border-bottom:1px solid var(--line);padding:.2rem 0}summary{cursor:pointer}
details>div{padding:.2rem 0 .6rem 1.2rem}details:target>summary{background:var(--mark)}
pre{white-space:pre-wrap;font:13px/1.4 ui-monospace,monospace;margin:.2rem 0}
pre{max-height:30rem;overflow:auto}
ul{margin:.2rem 0;padding-left:1.2rem}.bad{color:#c33}
"""

# Vanilla JS, no innerHTML: filters rows (and the matching <details>) by the search box,
# pre-filled from ?q= or #q=; builds a <details> body from its JSON when it opens (text as
# text nodes, tags from a fixed set); opens the <details> a #r-... link points to.
SCRIPT = r"""
(() => {
  "use strict";
  const TAGS = new Set(["div", "p", "h4", "pre", "ul", "ol", "li", "small", "strong", "a"]);
  let data = null;
  const build = (node) => {
    if (typeof node === "string") return document.createTextNode(node);
    const [tag, children, href] = node;
    const el = document.createElement(TAGS.has(tag) ? tag : "span");
    if (tag === "a" && /^https?:\/\//i.test(href)) {
      el.href = href;
      el.rel = "noreferrer";
    }
    for (const child of children) el.append(build(child));
    return el;
  };
  const fill = (details) => {
    if (details.dataset.i === undefined || details.dataset.built) return;
    data = data || JSON.parse(document.getElementById("card-data").textContent);
    details.append(build(["div", data[Number(details.dataset.i)]]));
    details.dataset.built = "1";
  };
  document.addEventListener("toggle", (event) => {
    if (event.target.tagName === "DETAILS" && event.target.open) fill(event.target);
  }, true);
  const box = document.getElementById("q"), table = document.getElementById("record-table");
  const shown = document.getElementById("shown"), cards = document.getElementById("cards");
  const rows = Array.from(table.tBodies[0].rows), items = cards.children;
  const hay = rows.map((row) => row.textContent.toLowerCase());
  const apply = () => {
    const terms = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    let count = 0;
    rows.forEach((row, i) => {
      const ok = terms.every((term) => hay[i].includes(term));
      row.hidden = !ok;
      if (items[i]) items[i].hidden = !ok;
      if (ok) count += 1;
    });
    shown.textContent = count + " of " + rows.length;
  };
  let timer = 0;
  box.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(apply, rows.length > 2000 ? 150 : 0);
  });
  const hash = location.hash.slice(1);
  const q = new URLSearchParams(location.search).get("q") ??
    (hash.startsWith("q=") ? new URLSearchParams(hash).get("q") : null);
  if (q) box.value = q;
  apply();
  const openTarget = () => {
    const el = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (el && el.tagName === "DETAILS") {
      fill(el);
      el.open = true;
      el.scrollIntoView();
    }
  };
  window.addEventListener("hashchange", openTarget);
  openTarget();  // after the filter, so it scrolls to where the record is now
  document.documentElement.dataset.ready = "1";
})();
"""


def _e(value: object) -> str:
    """Escaped text of any value; None is empty."""
    return html.escape("" if value is None else str(value), quote=True)


def _link(url: object) -> str:
    """A link only for http(s) URLs: a `javascript:` URL from a page stays text."""
    label = _e(url)
    if isinstance(url, str) and url.lower().startswith(("http://", "https://")):
        return f'<a href="{_e(url)}" rel="noreferrer">{label}</a>'
    return label


def _n(tag: str, *children: Child) -> Node:
    """A node of a lazily built body: [tag, children, href?]; the page's script makes
    elements from a fixed set of tags and text nodes from strings, never markup."""
    return [tag, list(children)]


def _a(url: object) -> Child:
    """A link node for http(s) URLs, else the URL as plain text."""
    if isinstance(url, str) and url.lower().startswith(("http://", "https://")):
        return ["a", [url], url]
    return "" if url is None else str(url)


def _hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _anchor(record: dict[str, Any], index: int) -> str:
    return f"r-{record.get('id') or index}"


def _count(value: int) -> str:
    return f"{value:,}"


# --- summary, templates, clusters, errors -------------------------------------------------


def _status(summary: Summary) -> str:
    return {0: "complete", 1: "partial: some pages failed", 3: "nothing could be read"}.get(
        summary.exit_code, str(summary.exit_code)
    )


def _skipped(summary: Summary) -> list[tuple[str, int]]:
    counts = [
        ("robots.txt", summary.robots_blocked),
        ("off-site", summary.out_of_scope),
        ("non-HTML", summary.non_html),
        ("--max-pages", summary.over_limit),
    ]
    return counts + [(f"{name} cap", n) for name, n in sorted(summary.trap_capped.items())]


def _skipped_note(skipped: list[tuple[str, int]]) -> str:
    return ", ".join(f"{k} {n}" for k, n in skipped)


def _summary_section(summary: Summary, emit: str) -> str:
    skipped = _skipped(summary)
    files = summary.skipped_files[:5] + (
        [f"and {len(summary.skipped_files) - 5} more files"]
        if len(summary.skipped_files) > 5
        else []
    )
    tiles = [
        ("Pages read", summary.pages_fetched, f"unchanged (304) {summary.not_modified}"),
        ("Failures", len(summary.failures), "see Errors" if summary.failures else ""),
        ("Skipped", sum(n for _, n in skipped), "; ".join([_skipped_note(skipped), *files])),
        (
            "Records written",
            summary.written,
            f"--emit {emit} from {summary.records} pages; unchanged since last run "
            f"{summary.unchanged}",
        ),
        ("Q&A", summary.qa, ""),
        ("Duplicates folded", summary.aliases, "pages folded into another page's record"),
        ("Template blocks removed", summary.template_removed, ""),
        ("In-page repeats removed", summary.repeats_removed, ""),
    ]
    if summary.changes or summary.delivered or summary.sink_errors:
        changes = summary.changes
        tiles += [
            (
                "Change events",
                sum(changes.values()),
                f"created {changes['created']}, updated {changes['updated']}, "
                f"deleted {changes['deleted']}",
            ),
            (
                "Events delivered",
                sum(summary.delivered.values()),
                "; ".join(f"{k}: not delivered ({v})" for k, v in summary.sink_errors.items())
                or "; ".join(f"{k} {n}" for k, n in summary.delivered.items()),
            ),
            (
                "Dead letters",
                len(summary.dead_letters),
                "see Errors" if summary.dead_letters else "",
            ),
        ]
    body = "".join(
        f"<div><dt>{_e(label)}</dt><dd>{_count(value)}</dd><small>{_e(note)}</small></div>"
        for label, value, note in tiles
    )
    return f'<section id="summary"><h2>Summary</h2><dl class="stats">{body}</dl></section>'


def _templates_section(top: list[tuple[str, int]]) -> str:
    rows = "".join(
        f'<tr><td class="n">{_count(pages)}</td><td>{_e(text)}</td></tr>'
        for text, pages in top[:TOP_TEMPLATES]
    )
    more = (
        f'<p class="mute">and {len(top) - TOP_TEMPLATES} more</p>'
        if len(top) > TOP_TEMPLATES
        else ""
    )
    table = (
        f"<table><thead><tr><th>Pages</th><th>Block removed as template</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>{more}"
        if top
        else '<p class="mute">No blocks removed as template.</p>'
    )
    return f'<section id="templates"><h2>Template blocks</h2>{table}</section>'


def _clusters(removals: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Kept URL -> the duplicate pages folded into it."""
    clusters: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for removal in removals:
        if removal.get("reason") == "duplicate-page":
            clusters[str(removal.get("folded_into") or "")].append(removal)
    return clusters


def _similarity(removal: dict[str, Any]) -> str:
    value = removal.get("similarity")
    return "canonical" if value is None else f"similarity {value}"


def _clusters_section(clusters: dict[str, list[dict[str, Any]]]) -> str:
    rows = []
    for kept, folded in sorted(clusters.items(), key=lambda item: -len(item[1])):
        anchor = _e(f"r-{folded[0].get('record_id')}") if folded[0].get("record_id") else ""
        jump = f' <a href="#{anchor}">record</a>' if anchor else ""
        items = "".join(
            f"<li>{_link(r.get('url'))} <small>{_e(_similarity(r))}</small></li>" for r in folded
        )
        rows.append(f'<tr><td class="u">{_link(kept)}{jump}</td><td><ul>{items}</ul></td></tr>')
    body = (
        "<table><thead><tr><th>Kept</th><th>Folded into it</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        if rows
        else '<p class="mute">No duplicate pages.</p>'
    )
    return f'<section id="clusters"><h2>Duplicate pages</h2>{body}</section>'


def _errors_section(failures: list[Failure], dead: list[tuple[str, DeadLetter]]) -> str:
    rows = "".join(
        f'<tr><td class="u">{_link(f.url)}</td><td>{_e(f.kind)}</td>'
        f'<td class="bad">{_e(f.message)}</td></tr>'
        for f in failures
    )
    body = (
        "<table><thead><tr><th>URL</th><th>Kind</th><th>Message</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        if failures
        else '<p class="mute">No errors.</p>'
    )
    return f'<section id="errors"><h2>Errors</h2>{body}{_dead_letters(dead)}</section>'


def _dead_letters(dead: list[tuple[str, DeadLetter]]) -> str:
    """Events a sink refused for good: never retried, so listed for a person to act on."""
    if not dead:
        return ""
    rows = "".join(
        f"<tr><td>{_e(sink)}</td><td>{_e(letter.event_id)}</td>"
        f'<td class="bad">{_e(letter.status)} {_e(letter.message)}</td></tr>'
        for sink, letter in dead
    )
    return (
        f"<h3>Dead letters ({len(dead)})</h3><table><thead><tr><th>Sink</th><th>Event</th>"
        f"<th>Refused with</th></tr></thead><tbody>{rows}</tbody></table>"
    )


# --- records ------------------------------------------------------------------------------


def _page_row(record: dict[str, Any], index: int) -> str:
    title = record.get("title") or record.get("url") or "(untitled)"
    aliases = record.get("aliases") or []
    return (
        f'<tr><td class="t"><a href="#{_e(_anchor(record, index))}">{_e(title)}</a></td>'
        f"<td>{_e(record.get('kind'))}</td>"
        f'<td class="n">{len(record.get("qa") or [])}</td>'
        f'<td class="u">{_link(record.get("url"))}</td>'
        f'<td class="u">{" ".join(_link(a) for a in aliases)}</td></tr>'
    )


def _person(person: object) -> str:
    if not isinstance(person, dict):
        return ""
    parts = [person.get("name"), person.get("credentials"), person.get("title")]
    return ", ".join(str(p) for p in parts if p)


def _qa_row(record: dict[str, Any], index: int) -> str:
    urls = record.get("urls") or []
    return (
        f'<tr><td class="t"><a href="#{_e(_anchor(record, index))}">'
        f"{_e(record.get('question'))}</a></td>"
        f"<td>{_e(_person(record.get('answered_by')))}</td>"
        f'<td class="n">{len(urls)}</td>'
        f'<td class="u">{_link(urls[0]) if urls else ""}</td></tr>'
    )


def _records_section(records: list[dict[str, Any]], qa_mode: bool) -> str:
    heads = ("Question", "Answered by", "Pages", "URL") if qa_mode else PAGE_HEADS
    row = _qa_row if qa_mode else _page_row
    rows = "".join(row(record, i) for i, record in enumerate(records))
    label = "Filter by question, person or URL" if qa_mode else "Filter by title, kind or URL"
    return (
        f'<section id="records"><h2>Records</h2>'
        f'<p><input id="q" type="search" placeholder="{label}" aria-label="{label}" '
        f'autocomplete="off"> <span id="shown" class="mute">{len(records)} of {len(records)}'
        f'</span></p><table id="record-table"><thead><tr>{"".join(f"<th>{h}</th>" for h in heads)}'
        f"</tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _qa_nodes(qa: list[dict[str, Any]]) -> list[Node]:
    items = [
        _n(
            "li",
            _n("strong", str(q.get("question") or "")),
            _n("pre", str(q.get("answer") or "")),
            _n("small", _person(q.get("answered_by")) or "answered by: unknown"),
        )
        for q in qa
    ]
    return [_n("h4", f"Q&A ({len(qa)})"), _n("ol", *items)] if qa else []


def _why(removal: dict[str, Any]) -> list[Child]:
    reason = removal.get("reason")
    if reason == "template":
        return [f"on {removal.get('pages')} pages"]
    if reason == "repeat":
        return [_repeat_of(removal)]
    return ["folded into ", _a(removal.get("folded_into")), ", " + _similarity(removal)]


def _repeat_of(removal: dict[str, Any]) -> str:
    """A repeat, explained by the kept text it copies (an --explain file of an older
    version has only the block's index)."""
    index, kept = removal.get("copy_of"), removal.get("kept")
    if not kept:
        return f"copy of block {index}"
    where = f"kept block {index}" if isinstance(index, int) else "a block removed as template"
    return f"copy of {where}: “{kept}”"


def _removal_node(removal: dict[str, Any], page_url: object) -> Node:
    item = _n("li", _n("small", *_why(removal)))
    if removal.get("url") != page_url:
        item[1].append(_n("small", " on ", _a(removal.get("url"))))
    if removal.get("text"):
        item[1].append(_n("pre", str(removal["text"])))
    return item


def _removed_nodes(removals: list[dict[str, Any]], page_url: object) -> list[Node]:
    """Removals grouped by reason, in a fixed order."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for removal in removals:
        groups[str(removal.get("reason"))].append(removal)
    order = [r for r in REASONS if r in groups] + sorted(set(groups) - set(REASONS))
    nodes: list[Node] = []
    for reason in order:
        nodes.append(_n("h4", f"Removed: {reason} ({len(groups[reason])})"))
        nodes.append(_n("ul", *(_removal_node(r, page_url) for r in groups[reason])))
    return nodes


def _page_body(record: dict[str, Any], removed: list[dict[str, Any]]) -> list[Node]:
    aliases = record.get("aliases") or []
    head = [_n("p", _a(record.get("url")))]
    if aliases:
        links = [part for alias in aliases for part in (", ", _a(alias))][1:]
        head.append(_n("p", "Aliases: ", *links))
    if record.get("section"):
        head.append(_n("p", f"Section: {record['section']}"))
    text = [_n("h4", "Kept text"), _n("pre", str(record.get("text") or ""))]
    qa = _qa_nodes(record.get("qa") or [])
    return head + text + qa + _removed_nodes(removed, record.get("url"))


def _qa_body(record: dict[str, Any]) -> list[Node]:
    urls = record.get("urls") or []
    return [
        _n("h4", "Answer"),
        _n("pre", str(record.get("answer") or "")),
        _n("p", "Answered by: " + (_person(record.get("answered_by")) or "unknown")),
        _n("h4", f"On {len(urls)} pages"),
        _n("ul", *(_n("li", _a(u)) for u in urls)),
    ]


class _Cards:
    """Closed <details> whose bodies wait, as JSON, until they are opened: the browser
    parses one text node instead of building every record's text into the DOM."""

    def __init__(self) -> None:
        self.bodies: list[list[Node]] = []

    def add(self, summary: str, body: list[Node], anchor: str = "") -> str:
        self.bodies.append(body)
        ident = f' id="{_e(anchor)}"' if anchor else ""
        index = len(self.bodies) - 1
        return f'<details{ident} data-i="{index}"><summary>{summary}</summary></details>'

    def data(self) -> str:
        """The bodies as JSON that cannot end its <script> element."""
        text = json.dumps(self.bodies, ensure_ascii=False, separators=(",", ":"))
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        return f'<script type="application/json" id="card-data">{text}</script>'


def _page_card(
    record: dict[str, Any], index: int, removed: list[dict[str, Any]], cards: _Cards
) -> str:
    qa = record.get("qa") or []
    title = record.get("title") or record.get("url") or "(untitled)"
    summary = f"{_e(title)} <small>kept {len(qa)} Q&amp;A, removed {len(removed)}</small>"
    return cards.add(summary, _page_body(record, removed), _anchor(record, index))


def _by_url(removals: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    index: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for removal in removals:
        index[str(removal.get("url"))].append(removal)
    return index


def _cards_section(
    records: list[dict[str, Any]],
    by_url: dict[str, list[dict[str, Any]]],
    qa_mode: bool,
    cards: _Cards,
) -> str:
    """Per record, what was kept and what was removed; pops the removals it shows."""
    items = []
    for i, record in enumerate(records):
        if qa_mode:
            summary = _e(record.get("question"))
            items.append(cards.add(summary, _qa_body(record), _anchor(record, i)))
            continue
        urls = dict.fromkeys([record.get("url"), *(record.get("aliases") or [])])
        removed = [r for url in urls for r in by_url.pop(str(url), [])]
        items.append(_page_card(record, i, removed, cards))
    title = "Q&amp;A" if qa_mode else "Kept / removed, per record"
    return f'<section id="kept"><h2>{title}</h2><div id="cards">{"".join(items)}</div></section>'


def _other_removals(by_url: dict[str, list[dict[str, Any]]], qa_mode: bool, cards: _Cards) -> str:
    """Removals on pages no record above claims (every page, for --emit qa)."""
    if not by_url:
        return ""
    items = "".join(
        cards.add(
            f"{_e(url)} <small>removed {len(removed)}</small>",
            [_n("p", _a(url)), *_removed_nodes(removed, url)],
            f"u-{i}",
        )
        for i, (url, removed) in enumerate(by_url.items())
    )
    title = "Removed, per page" if qa_mode else "Removed on pages without a record here"
    return f'<section id="other"><h2>{title}</h2>{items}</section>'


# --- the page -----------------------------------------------------------------------------


def _nav(records: int, summary: Summary, clusters: int, other: bool) -> str:
    links = [
        ("summary", "Summary"),
        ("errors", f"Errors ({len(summary.failures)})"),
        ("records", f"Records ({records})"),
        ("templates", f"Templates ({len(summary.top_templates)})"),
        ("clusters", f"Duplicates ({clusters})"),
        ("kept", "Kept / removed"),
    ] + ([("other", "Other removals")] if other else [])
    return "<nav>" + "".join(f'<a href="#{k}">{_e(v)}</a>' for k, v in links) + "</nav>"


def render_report(
    summary: Summary,
    records: list[dict[str, Any]],
    removals: list[dict[str, Any]],
    *,
    source: str,
    emit: str,
) -> str:
    """One self-contained HTML page (no external assets: inline CSS and JS only, no CDN,
    no fonts, no images from the network) to review a run before importing it."""
    qa_mode = emit == "qa"
    clusters = _clusters(removals)
    by_url = _by_url(removals)
    cards = _Cards()
    kept = _cards_section(records, by_url, qa_mode, cards)
    other = _other_removals(by_url, qa_mode, cards)
    policy = (
        f"default-src 'none'; script-src {_hash(SCRIPT)}; style-src {_hash(STYLE)}; "
        "img-src 'none'; base-uri 'none'; form-action 'none'"
    )
    elapsed = time.monotonic() - summary.started
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>harvester report: {_e(source)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>harvester report</h1><div>{_link(source)} "
        f'<span class="mute">· --emit {_e(emit)} · {_e(_status(summary))} · '
        f"{elapsed:.1f} s{' · resumed' if summary.resumed else ''}</span></div>"
        f"{_nav(len(records), summary, len(clusters), bool(other))}</header>"
        f"{_summary_section(summary, emit)}"
        f"{_errors_section(summary.failures, summary.dead_letters)}"
        f"{_records_section(records, qa_mode)}{_templates_section(summary.top_templates)}"
        f"{_clusters_section(clusters)}{kept}{other}{cards.data()}"
        f"<script>{SCRIPT}</script></body></html>\n"
    )


def write_report(path: str | Path, html: str) -> None:
    """Written atomically (see write_atomic): a reader never sees half a page, and an
    earlier report survives a failed write."""
    try:
        write_atomic(path, html)
    except OutputError as exc:
        message = str(exc).replace("cannot write to", "cannot write report to", 1)
        raise OutputError(message) from None


__all__ = ["render_report", "write_report"]
