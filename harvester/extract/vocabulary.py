"""The words extraction reads markup by: chrome tags, ARIA roles, class and id words, and
the one tokeniser that turns class and id attributes into whole words.

Every reader of markup (the block walk, the Q&A detectors, metadata) asks here, so that a
word added for one is known to all, and "widget" in "elementor-widget" or "hide" in
"elementor-hidden-mobile" never counts: names are compared as whole tokens and words.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from lxml.html import HtmlElement

# Elements that are never the page's content, and those that are only outside an article
# (a page's header and footer are chrome; an article's own header holds its title).
CHROME_TAGS = frozenset({"nav", "aside", "dialog"})
FRAME_TAGS = frozenset({"header", "footer"})
CHROME_ROLES = frozenset(
    "navigation banner contentinfo complementary search menu menubar dialog alertdialog".split()
)
NEVER_CHROME = frozenset({"html", "body", "main", "article"})

# Class/id words. Strong words name a thing that is never content; weak words also
# describe layouts ("has-sidebar", "content-with-nav"), so they count only for link lists
# or small boxes; whole tokens name chrome that their words alone do not ("header").
STRONG_WORDS = frozenset(
    "breadcrumb breadcrumbs cookie cookies consent gdpr newsletter subscribe signup share "
    "sharing social comments comment respond advert advertisement sponsored popup "
    "skip trending recommended outbrain taboola promo".split()
)
WEAK_WORDS = frozenset(
    "nav navbar navigation menu menubar footer sidebar pagination pager ads modal masthead "
    "topbar toolbar related widget-area caption credit credits popular".split()
)
CHROME_TOKENS = frozenset({"header", "site-header", "top-bar", "related-posts"})

# What sits inside an article's container without being its text: every strong chrome
# word, the weak ones that name a box (related links, captions, credits, ads), and teasers
# of other articles, author boxes and bylines, tag lists. Read where the chrome words
# have not already decided, which inside an article is most often.
ASIDE_WORDS = (
    STRONG_WORDS
    | (WEAK_WORDS & {"related", "caption", "credit", "credits", "ads"})
    | {"teaser", "teasers", "recirculation", "readmore", "bio", "biography", "byline"}
    | {"captions", "figcaption", "tags", "ad"}
)
ASIDE_TAGS = frozenset({"figure", "figcaption"})

# Screen-reader labels, and states that keep an element out of sight until clicked.
UNSEEN_CLASSES = frozenset(
    {"sr-only", "screen-reader-text", "visually-hidden", "elementor-screen-only"}
)
HIDDEN_CLASSES = frozenset({"collapse", "collapsed", "hidden", "is-hidden"})
FAQ_WORDS = frozenset({"faq", "faqs", "faqfield", "qa", "qanda", "questions"})


def names_of(el: HtmlElement) -> str:
    """An element's class and id attributes, as one string of tokens (id last)."""
    return f"{el.get('class', '')} {el.get('id', '')}"


def tokens(names: str) -> set[str]:
    """The whole tokens of class/id attribute values, lower case."""
    return set(names.lower().split())


def class_tokens(el: HtmlElement) -> set[str]:
    return tokens(el.get("class", ""))


def words_of(toks: Iterable[str]) -> set[str]:
    """The whole words of class and id tokens: "faq-item__title" -> faq, item, title.
    The one place names are split, so that every reader of classes agrees on words."""
    return {w for t in toks for w in t.lower().replace("_", "-").split("-") if w}


def class_words(el: HtmlElement) -> set[str]:
    return words_of(tokens(names_of(el)))


ASIDE = 4  # a flag beside the chrome strength in `name_marks`


@lru_cache(maxsize=4096)
def name_marks(names: str) -> int:
    """What a class/id attribute says, read once per distinct value (a site repeats the
    same ones on every page): its chrome strength (2: names chrome; 1: a weak layout
    word; 0: nothing), plus ASIDE when it names an article's surroundings."""
    toks = tokens(names)
    words = words_of(toks)
    strong = toks & CHROME_TOKENS or words & STRONG_WORDS
    strength = 2 if strong else 1 if words & WEAK_WORDS else 0
    aside = not ASIDE_WORDS.isdisjoint(toks) or not ASIDE_WORDS.isdisjoint(words)
    return strength | (ASIDE if aside else 0)


def chrome_strength(names: str) -> int:
    return name_marks(names) & 3


def names_aside(names: str) -> bool:
    """A class/id that names an article's surroundings: related links, a caption, a bio."""
    return bool(name_marks(names) & ASIDE)


def chrome_tag(tag: str, in_article: bool) -> bool:
    return tag in CHROME_TAGS or (tag in FRAME_TAGS and not in_article)


def chrome_role(role: str | None) -> bool:
    return bool(role) and str(role).lower() in CHROME_ROLES


def in_chrome(el: HtmlElement) -> bool:
    """Inside navigation, a page header or footer, a sidebar or a dialog (by tag or ARIA
    role, as the block walk marks chrome)."""
    chain = [el, *el.iterancestors()]
    in_article = any(node.tag == "article" for node in chain)
    return any(chrome_tag(node.tag, in_article) or chrome_role(node.get("role")) for node in chain)


def hidden_by_style(el: HtmlElement) -> bool:
    """Never shown as the page loads: the `hidden` attribute or display:none."""
    return hidden_attributes(el.get("hidden"), el.get("style"))


def hidden_attributes(hidden: str | None, style: str | None) -> bool:
    """`hidden_by_style` on attribute values already read (the block walk reads each
    element's attributes once)."""
    return hidden is not None or (
        style is not None and "display:none" in style.replace(" ", "").lower()
    )


def looks_hidden(el: HtmlElement) -> bool:
    """Out of sight until clicked: hidden, aria-hidden, or a collapsed panel's class."""
    return (
        hidden_by_style(el)
        or el.get("aria-hidden") == "true"
        or not HIDDEN_CLASSES.isdisjoint(class_tokens(el))
    )
