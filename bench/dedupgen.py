"""Generated clinic sites for the dedup benchmark: base pages, near-copies, hard negatives.

Two sites with the layouts legacy clinics use: a WordPress-style theme whose chrome is
marked up (nav, aside, footer), and a table layout whose menu, sidebar, newsletter box
and footer are plain cells and divs, so that chrome reaches the dedup stage as text and
only template learning can remove it. Every page is a pure function of the seed: the
ground truth (which pages copy which) comes with the pages.
"""

from __future__ import annotations

import itertools
import random
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from html import escape

from sitegen import PROS  # the same practitioners sign the generated answers

GENERAL = """
the a of and to in is that for it with as on be by this are or your can at from
an not will more may have if but you when which most also some these they their
our after before during while because often usually many other over into than
only about can any each every both through again once where how what why who
patient patients clinic therapist therapy treatment session sessions exercise
exercises movement muscle muscles joint joints pain injury injuries recovery body
posture strength mobility flexibility balance load tissue tissues stretch stretches
program plan week weeks day days month months time home work sport activity training
helps improves reduces supports restores protects relieves builds eases limits keeps
makes gives takes starts stops returns changes shows finds notices feels needs uses
gentle progressive targeted manual active passive simple specific daily regular
common early late slow quick careful light heavy short long new old small large
first second next last good better best right left upper lower deep inner outer
assessment history goal goals result results level levels range habit habits advice
question answer example reason risk sign signs symptom symptoms cause causes area
people person athlete athletes runner runners worker workers parent parents child
morning evening night weekend season game practice race trail road desk chair car
ice heat rest sleep water shoe shoes brace tape band ball mat foam roller pillow
"""
PARTS = {
    "knee": "knee kneecap patella meniscus quadriceps hamstring ACL IT-band shin",
    "shoulder": "shoulder rotator cuff deltoid scapula collarbone biceps trapezius",
    "back": "lower back lumbar spine disc sacrum core pelvis glute erector",
    "neck": "neck cervical spine jaw trapezius scalene upper back headache",
    "hip": "hip groin glute flexor pelvis piriformis bursa labrum",
    "ankle": "ankle heel Achilles tendon calf arch plantar fascia foot",
    "wrist": "wrist forearm elbow thumb carpal tunnel tendon grip finger",
    "head": "head concussion vision balance neck migraine temple",
}
ISSUES = "pain stiffness sprain strain tendinitis weakness swelling tightness soreness".split()
PEOPLE = (
    "runners",
    "hockey players",
    "office workers",
    "new parents",
    "golfers",
    "cyclists",
    "swimmers",
    "older adults",
    "teenage athletes",
    "gardeners",
)
ACTIVITIES = (
    "a long run",
    "a hockey game",
    "a day at the desk",
    "heavy lifting",
    "a tennis match",
    "gardening",
    "a long drive",
    "a yoga class",
    "a ski weekend",
    "a soccer tournament",
)
TREATMENTS = (
    "massage therapy",
    "soft tissue release",
    "joint mobilisation",
    "dry needling",
    "a home exercise program",
    "kinesio taping",
    "shockwave therapy",
    "acupuncture",
    "graded loading",
    "hydrotherapy",
)
DURATIONS = "two days|a week|ten days|two weeks|three weeks|a month|six weeks|three months"
TEMPLATES = (
    "{Part} {issue} is common in {people}, especially after {activity}.",
    "Most {people} first notice the {issue} {when}.",
    "Your therapist may suggest {treatment} for {duration} before adding load.",
    "If the {issue} lasts longer than {duration}, book an assessment with {pro}.",
    "{Treatment} helps the {part} recover its normal range of motion.",
    "We often combine {treatment} with {treatment2} for {people}.",
    "The {part} takes more load than you think during {activity}.",
    "A good warm-up before {activity} protects the {part} and the {part2}.",
    "Ice the {part} for ten minutes {when}, then rest for {duration}.",
    "Many {people} ignore early {issue} until it limits {activity}.",
    "{Pro} explains why the {part} and the {part2} work together.",
    "Keep a simple diary of your {issue} for {duration}; it guides the next session.",
)
WHEN = (
    "in the morning",
    "at night",
    "after sitting",
    "on the stairs",
    "at the start of a run",
    "the day after a game",
)
SIDEBAR_EXTRAS = (
    "Now open Saturdays at our Elm Street location.",
    "Holiday hours: closed December 25 and 26.",
    "New: evening appointments with our physiotherapy team.",
    "Gift certificates are available at the front desk.",
    "We now offer direct billing to most insurers.",
)
SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]


def _vocabulary(extra: int = 1500) -> tuple[list[str], list[float]]:
    """Common words first, then made-up rare words (names, products), Zipf-weighted:
    prose as varied as a real site's, where few long word runs recur across pages."""
    rng = random.Random(7)
    words = GENERAL.split()
    while len(words) < len(GENERAL.split()) + extra:
        words.append("".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))))
    cumulative = list(itertools.accumulate(1 / (rank + 8) for rank in range(len(words))))
    return words, cumulative


WORDS, CUMULATIVE = _vocabulary()


@dataclass(frozen=True)
class Topic:
    part: str
    words: tuple[str, ...]
    issue: str


def topic_for(rng: random.Random) -> Topic:
    part = rng.choice(list(PARTS))
    return Topic(part, tuple(PARTS[part].split()), rng.choice(ISSUES))


def sentence(rng: random.Random, topic: Topic) -> str:
    """A template sentence with its slots filled, or free prose salted with topic words."""
    if rng.random() < 0.4:
        return _from_template(rng, topic)
    words = [
        rng.choice(topic.words)
        if rng.random() < 0.12
        else rng.choices(WORDS, cum_weights=CUMULATIVE)[0]
        for _ in range(rng.randint(8, 24))
    ]
    return " ".join(words).capitalize() + "."


def _from_template(rng: random.Random, topic: Topic) -> str:
    pro = rng.choice(PROS)
    slots = {
        "part": rng.choice(topic.words),
        "part2": rng.choice(topic.words),
        "issue": topic.issue if rng.random() < 0.7 else rng.choice(ISSUES),
        "people": rng.choice(PEOPLE),
        "activity": rng.choice(ACTIVITIES),
        "treatment": rng.choice(TREATMENTS),
        "treatment2": rng.choice(TREATMENTS),
        "duration": rng.choice(DURATIONS.split("|")),
        "when": rng.choice(WHEN),
        "pro": f"{pro[0]}, {pro[1]}",
    }
    slots.update({k.capitalize(): v[:1].upper() + v[1:] for k, v in list(slots.items())})
    return rng.choice(TEMPLATES).format(**slots)


Part = tuple[str, list[str]]  # ("p" | "q" | "a", sentences), ("h2", [text]), ("ul", items)


@dataclass(frozen=True)
class Article:
    """A page's content, kept as sentences so that a copy can change exactly one."""

    title: str
    slug: str
    section: str
    date: str
    author: tuple[str, str, str]
    parts: tuple[Part, ...]

    def words(self) -> int:
        return sum(len(" ".join(lines).split()) for kind, lines in self.parts if kind != "h2")


def paragraph(rng: random.Random, topic: Topic) -> list[str]:
    return [sentence(rng, topic) for _ in range(rng.randint(3, 7))]


def body(rng: random.Random, topic: Topic, target: int, qa: bool) -> list[Part]:
    """Headings, paragraphs and lists until the main text reaches `target` words."""
    parts: list[Part] = [("q", paragraph(rng, topic)[:3])] if qa else []
    words = 0
    while words < target:
        roll = rng.random()
        if not qa and roll < 0.15 and (not parts or parts[-1][0] != "h2"):
            parts.append(("h2", [sentence(rng, topic)[:-1][:60]]))
            continue
        if not qa and roll < 0.27:
            items = [sentence(rng, topic) for _ in range(rng.randint(3, 6))]
            parts.append(("ul", items))
        else:
            parts.append(("a" if qa else "p", paragraph(rng, topic)))
        words += len(" ".join(parts[-1][1]).split())
    return parts


def article(rng: random.Random, number: int, topic: Topic, qa: bool) -> Article:
    title = (
        f"{topic.part.title()} {topic.issue.title()} in {rng.choice(PEOPLE).title()}"
        f" ({rng.choice(ACTIVITIES).title()})"
    )
    section = "ask-a-pro" if qa else rng.choice(("articles", "news", "services", "blog"))
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") + f"-{number}"
    date = f"{rng.randint(2008, 2019)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    parts = body(rng, topic, rng.randint(300, 1500), qa)
    return Article(title, slug, section, date, rng.choice(PROS), tuple(parts))


def sibling(rng: random.Random, number: int, topic: Topic, of: Article) -> Article:
    """A different page on the same topic that quotes one or two of `of`'s paragraphs."""
    own = article(rng, number, topic, False)
    shared = [p for p in of.parts if p[0] in ("p", "a")]
    quoted = [("p", list(lines)) for _, lines in rng.sample(shared, min(len(shared), 2))]
    parts = list(own.parts)
    for part in quoted[: rng.randint(1, 2)]:
        parts.insert(rng.randint(0, len(parts)), part)
    return replace(own, parts=tuple(parts))


def change_sentence(rng: random.Random, page: Article, topic: Topic) -> Article:
    """One sentence edited: half the time a few words, else rewritten whole."""
    spots = [
        (i, j)
        for i, (kind, lines) in enumerate(page.parts)
        if kind in ("p", "a")
        for j in range(len(lines))
    ]
    i, j = rng.choice(spots)
    kind, lines = page.parts[i]
    lines = list(lines)
    if rng.random() < 0.5:
        words = lines[j].rstrip(".").split()
        for k in rng.sample(range(len(words)), min(len(words), rng.randint(1, 3))):
            words[k] = rng.choices(WORDS, cum_weights=CUMULATIVE)[0]
        lines[j] = " ".join(words) + "."
    else:
        lines[j] = sentence(rng, topic)
    parts = list(page.parts)
    parts[i] = (kind, lines)
    return replace(page, parts=tuple(parts))


@dataclass(frozen=True)
class Chrome:
    """What a copy of a page may render differently around the same content."""

    active: str
    year: int
    extra: str | None = None


@dataclass(frozen=True)
class Site:
    name: str
    origin: str
    menu: tuple[str, ...]
    render: Callable[[Site, Article, Chrome], str]
    base_path: Callable[[Article], str]
    copy_paths: Callable[[Article], list[str]]
    print_path: Callable[[Article], str]
    qa_share: float

    def url(self, path: str) -> str:
        return self.origin + path


def content_html(page: Article) -> str:
    out: list[str] = []
    for kind, lines in page.parts:
        text = escape(" ".join(lines))
        if kind == "h2":
            out.append(f"<h2>{text}</h2>")
        elif kind == "ul":
            out.append("<ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>")
        elif kind == "q":
            out.append(f'<h4 class="qa-label">Q:</h4><p class="question">{text}</p>')
        elif kind == "a" and out and "question" in out[-1]:
            out.append(f'<h4 class="qa-label">A:</h4><p class="answer">{text}</p>')
        else:
            out.append(f"<p>{text}</p>")
    if page.parts and page.parts[0][0] == "q":
        name, credentials, role = page.author
        out.append(f'<div class="signature"><p>{name} {credentials}</p><p>{role}</p></div>')
    return "".join(out)


def _label(section: str) -> str:
    return section.replace("-", " ").title()


def wordpress(site: Site, page: Article, chrome: Chrome) -> str:
    """A WordPress-style theme: chrome in nav, aside and footer, content in <main>."""
    menu = "".join(
        f'<li class="menu-item{" current-menu-item" if label == chrome.active else ""}">'
        f'<a href="/{label.lower().replace(" ", "-")}/">{label}</a></li>'
        for label in site.menu
    )
    extra = f"<p>{escape(chrome.extra)}</p>" if chrome.extra else ""
    heading = (
        '<h2 class="section-title">Ask A Pro, Get Answers</h2>' if page.parts[0][0] == "q" else ""
    )
    name, credentials, role = page.author
    return (
        f'<!DOCTYPE html><html lang="en-CA"><head><meta charset="utf-8">'
        f"<title>{escape(page.title)} | {escape(site.name)}</title>"
        f'<meta property="og:site_name" content="{escape(site.name)}"></head>'
        f'<body class="post-template"><header class="site-header"><a class="logo" href="/">'
        f'{escape(site.name)}</a><nav class="main-navigation"><ul class="menu">{menu}</ul></nav>'
        f'</header><div id="page" class="site"><div class="site-content">'
        f'<main id="main" class="site-main"><article class="post">{heading}'
        f'<h1 class="entry-title">{escape(page.title)}</h1>'
        f'<p class="entry-meta">Posted on <time datetime="{page.date}">{page.date}</time> by '
        f"{name}, {credentials}</p>"
        f'<div class="entry-content">{content_html(page)}</div>'
        f'<div class="author-bio"><p>{name}, {credentials}, is a {role} at {escape(site.name)}'
        " and treats athletes of every level.</p></div></article></main>"
        '<aside id="secondary" class="widget-area"><section class="widget"><h3>Clinic Hours'
        "</h3><p>Mon-Fri 8am-8pm, Sat 9am-3pm.</p>"
        f"{extra}</section></aside></div></div>"
        '<footer class="site-footer"><div class="newsletter-box"><h4>Get our newsletter</h4>'
        "<p>Monthly tips on injury prevention and recovery.</p>"
        '<form action="/subscribe" method="post"><input type="email" name="email">'
        '<button type="submit">Subscribe</button></form></div>'
        f"<p>&copy; {chrome.year} {escape(site.name)}. All rights reserved.</p></footer>"
        "</body></html>"
    )


def table_layout(site: Site, page: Article, chrome: Chrome) -> str:
    """A 2000s table layout: menu, sidebar, newsletter box and footer are plain cells."""
    menu = "<br>".join(
        f"<b>&raquo; {label}</b>"
        if label == chrome.active
        else f'<a href="/{label.lower().replace(" ", "")}.html">{label}</a>'
        for label in site.menu
    )
    extra = f'<p><font color="red">{escape(chrome.extra)}</font></p>' if chrome.extra else ""
    name, credentials, _ = page.author
    return (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN"><html><head>'
        f"<title>{escape(page.title)} - {escape(site.name)}</title></head>"
        '<body bgcolor="#ffffff"><table width="960" align="center" border="0">'
        '<tr><td colspan="3" class="top"><a href="/"><img src="/images/logo.gif" width="300" '
        f'height="80" alt="{escape(site.name)}"></a><br><font size="2">Call 555-0142 &middot; '
        '41 Mill Street, Oldtown</font></td></tr><tr><td class="left" width="170" valign="top">'
        f'{menu}</td><td class="middle" width="570" valign="top">'
        f'<h1>{escape(page.title)}</h1><p class="date">Posted {page.date} by {name}, '
        f"{credentials}</p>{content_html(page)}"
        '<div class="box"><b>Join our mailing list</b><br>Seasonal tips on staying active and '
        'injury free, once a month.<form action="/cgi-bin/join.pl" method="post">'
        '<input type="text" name="email"><input type="submit" value="Join"></form></div>'
        '<p><a href="#top">Back to top</a></p></td><td class="right" width="220" valign="top">'
        "<p><b>Clinic hours</b><br>Mon-Fri 8am-8pm<br>Sat 9am-3pm</p><p><b>Tip of the month"
        "</b><br>Stand up and walk for two minutes every half hour at the desk.</p>"
        f'{extra}</td></tr><tr><td colspan="3" class="bottom">Copyright &copy; {chrome.year} '
        f'{escape(site.name)}. All rights reserved.<br><a href="/privacy.html">Privacy</a> | '
        '<a href="/sitemap.html">Site map</a></td></tr></table></body></html>'
    )


def flat_layout(site: Site, page: Article, chrome: Chrome) -> str:
    """A hand-made page: menu, sidebar, newsletter and copyright share one container with
    the text, under class names no extractor knows; only templates tell them apart."""
    menu = " | ".join(
        f"<b>{label}</b>"
        if label == chrome.active
        else f'<a href="/{label.lower()}.htm">{label}</a>'
        for label in site.menu
    )
    extra = f"<p><i>{escape(chrome.extra)}</i></p>" if chrome.extra else ""
    return (
        f"<html><head><title>{escape(site.name)}: {escape(page.title)}</title></head>"
        f'<body><div id="container"><p class="links">{menu}</p>'
        '<div class="tips" style="float:right;width:200px"><p><b>Clinic hours:</b> Monday to '
        "Friday 9 to 7, Saturday 9 to 1.</p><p>Ask us about custom orthotics and "
        f"our spinal health workshops.</p>{extra}</div>"
        f"<h1>{escape(page.title)}</h1><p>{page.date}</p>{content_html(page)}"
        '<div class="box2"><p>Sign up for our e-newsletter and get a free posture guide.</p>'
        '<form action="/join.asp"><input name="email"><input type="submit" value="Go"></form>'
        f'</div><p class="copy">&copy; {chrome.year} {escape(site.name)} | 12 Lake Road, '
        "Lakeside | Tel. 555-0199</p></div></body></html>"
    )


def print_view(site: Site, page: Article, canonical: str) -> str:
    """The same text in a bare layout that names the real page as canonical."""
    return (
        f"<html><head><title>{escape(page.title)}</title>"
        f'<link rel="canonical" href="{canonical}"></head><body onload="window.print()">'
        f'<p class="print-header">{escape(site.name)}</p><h1>{escape(page.title)}</h1>'
        f"<p>Posted {page.date}</p>{content_html(page)}"
        f'<p class="print-footer">Printed from {canonical}</p></body></html>'
    )


RIVERSIDE = Site(
    name="Riverside Sport & Massage Clinic",
    origin="https://www.riverside-clinic.example",
    menu=("Home", "About Us", "Services", "Articles", "Ask A Pro", "News", "Blog", "Contact"),
    render=wordpress,
    base_path=lambda p: f"/{p.section}/{p.slug}/",
    copy_paths=lambda p: [
        f"/{p.date[:4]}/{p.date[5:7]}/{p.slug}/",
        f"/?p={zlib.crc32(p.slug.encode()) % 90000 + 1000}",
        f"/category/{p.section}/{p.slug}/",
    ],
    print_path=lambda p: f"/{p.section}/{p.slug}/print/",
    qa_share=0.2,
)
OLDTOWN = Site(
    name="Oldtown Physiotherapy & Massage",
    origin="http://www.oldtownphysio.example",
    menu=("Home", "Our Team", "Services", "Articles", "News", "Blog", "Links", "Contact Us"),
    render=table_layout,
    base_path=lambda p: f"/{p.section}/{p.slug}.html",
    copy_paths=lambda p: [
        f"/index.php?page={p.slug}",
        f"/{p.section}/{p.slug}.htm",
        f"/archive/{p.date[:4]}/{p.slug}.html",
    ],
    print_path=lambda p: f"/print.php?page={p.slug}",
    qa_share=0.0,
)
LAKESIDE = Site(
    name="Lakeside Chiropractic & Wellness",
    origin="http://lakesidechiro.example",
    menu=("Home", "About", "Services", "Articles", "Blog", "News", "Contact"),
    render=flat_layout,
    base_path=lambda p: f"/{p.section}/{p.slug}.htm",
    copy_paths=lambda p: [
        f"/page.asp?id={zlib.crc32(p.slug.encode()) % 9000 + 100}",
        f"/{p.section}/{p.slug}.htm?ref=home",
        f"/old/{p.slug}.htm",
    ],
    print_path=lambda p: f"/print.asp?page={p.slug}",
    qa_share=0.0,
)
SITES = (RIVERSIDE, OLDTOWN, LAKESIDE)
COPY_KINDS = ("chrome", "sentence", "tracking", "print")
TRACKING = "?utm_source=newsletter&utm_medium=email&utm_campaign=spring-{n}"
SIBLING_SHARE = 0.12


@dataclass(frozen=True)
class Sample:
    """One generated page; pages with the same `group` are one real page."""

    url: str
    html: bytes
    group: int
    kind: str  # base, sibling (a hard negative), or the copy kind
    quotes: int | None = None  # group whose paragraphs a sibling quotes


def generate(bases: int = 540, seed: int = 1) -> list[Sample]:
    """`bases` real pages with 0-3 copies each, in a shuffled (crawl-like) order."""
    rng = random.Random(seed)
    samples: list[Sample] = []
    earlier: dict[tuple[str, str], list[tuple[int, Article, Topic]]] = {}
    for number in range(bases):
        site = SITES[number % len(SITES)]
        samples += _group(rng, site, number, earlier)
    rng.shuffle(samples)
    return samples


def _group(
    rng: random.Random,
    site: Site,
    number: int,
    earlier: dict[tuple[str, str], list[tuple[int, Article, Topic]]],
) -> Iterator[Sample]:
    topic = topic_for(rng)
    related = earlier.get((site.name, topic.part), [])
    quotes = None
    if related and rng.random() < SIBLING_SHARE:
        quotes, original, topic = rng.choice(related)
        page = sibling(rng, number, topic, original)
    else:
        page = article(rng, number, topic, rng.random() < site.qa_share)
    earlier.setdefault((site.name, topic.part), []).append((number, page, topic))
    chrome = Chrome(_active(site, page), rng.randint(2009, 2016))
    base_url = site.url(site.base_path(page))
    html = site.render(site, page, chrome).encode()
    yield Sample(base_url, html, number, "base" if quotes is None else "sibling", quotes)
    paths = site.copy_paths(page)
    for kind in rng.sample(COPY_KINDS, rng.randint(0, 3)):
        if kind == "tracking":
            yield Sample(base_url + TRACKING.format(n=number), html, number, kind)
        elif kind == "print":
            text = print_view(site, page, base_url)
            yield Sample(site.url(site.print_path(page)), text.encode(), number, kind)
        else:
            copy, look = _mutated(rng, site, page, topic, chrome, kind)
            url = site.url(paths.pop(rng.randrange(len(paths))))
            yield Sample(url, site.render(site, copy, look).encode(), number, kind)


def _active(site: Site, page: Article) -> str:
    label = _label(page.section)
    return label if label in site.menu else site.menu[0]


def _mutated(
    rng: random.Random, site: Site, page: Article, topic: Topic, chrome: Chrome, kind: str
) -> tuple[Article, Chrome]:
    if kind == "sentence":
        return change_sentence(rng, page, topic), chrome
    edits = [e for e in ("active", "year", "extra") if rng.random() < 0.6] or ["year"]
    return page, Chrome(
        rng.choice([m for m in site.menu if m != chrome.active])
        if "active" in edits
        else chrome.active,
        chrome.year + rng.randint(1, 8) if "year" in edits else chrome.year,
        rng.choice(SIDEBAR_EXTRAS) if "extra" in edits else None,
    )
