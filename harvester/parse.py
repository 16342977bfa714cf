"""Bytes to an lxml tree: decoding that does not make mojibake, and link discovery.

Parsing happens once per page; every later step shares the tree.
"""

from __future__ import annotations

import codecs
import html.parser
import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape

import charset_normalizer
import lxml.html
from bs4.dammit import EncodingDetector
from lxml import etree

from .models import Attachment
from .urls import resolve

# Browsers decode these labels as windows-1252; so must we, or curly quotes break.
ENCODING_ALIASES = {
    "iso-8859-1": "windows-1252",
    "latin-1": "windows-1252",
    "latin1": "windows-1252",
    "us-ascii": "windows-1252",
    "ascii": "windows-1252",
}
HTML_TYPES = ("text/html", "application/xhtml+xml")
DOCUMENT_SUFFIXES = frozenset(
    "pdf doc docx xls xlsx ppt pptx odt ods odp rtf csv zip epub "
    "jpg jpeg png gif webp svg tif tiff mp3 mp4 mov avi wmv".split()
)
MULTIBYTE = frozenset(
    "utf_16 utf_32 shift_jis cp932 euc_jp iso2022_jp gb2312 gbk gb18030 big5 big5hkscs "
    "euc_kr cp949 johab cp950 hz".split()
)
_TITLE = re.compile(r"<title[^>]*>([^<]*)</title>", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)


# Every element an HtmlElement, chosen in C: lxml.html's default lookup picks a class per
# tag in Python (form and input classes nothing here uses) each time a node is touched.
_LOOKUP = etree.ElementDefaultClassLookup(
    element=lxml.html.HtmlElement,
    comment=lxml.html.HtmlComment,
    pi=lxml.html.HtmlProcessingInstruction,
    entity=lxml.html.HtmlEntity,
)


_TOO_DEEP = "Excessive depth"  # libxml2 stops reading a page nested this deep


_UNREAD = frozenset({"script", "style", "title", "template", "noscript"})


class _Flattener(html.parser.HTMLParser):
    """Text and links of a page, without its nesting: one paragraph per text run."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _UNREAD:
            self.skip += 1
        elif tag in ("a", "area") and (href := dict(attrs).get("href")):
            self.parts.append(f'<a href="{escape(href)}"></a>')

    def handle_endtag(self, tag: str) -> None:
        if tag in _UNREAD and self.skip:
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip and data.strip():
            self.parts.append(f"<p>{escape(data)}</p>")


def flattened(text: str) -> str:
    """A page nested too deep for the parser, as one flat page of its text and links:
    read so, rather than lose what sits below the parser's depth limit."""
    reader = _Flattener()
    reader.feed(text)
    reader.close()
    head = _TITLE.search(text)
    title = f"<title>{escape(head.group(1))}</title>" if head else ""
    return f"<html><head>{title}</head><body>{''.join(reader.parts)}</body></html>"


def _parser() -> etree.HTMLParser:
    """A parser of its own per document: lxml parsers are not shared across threads."""
    parser = etree.HTMLParser(huge_tree=True)  # else libxml2 drops what is 256 levels deep
    parser.set_element_class_lookup(_LOOKUP)
    return parser


class ParseError(ValueError):
    """Content that cannot be read as an HTML page."""


@dataclass
class Document:
    """A parsed page: the tree and the URL its relative links resolve against."""

    url: str
    tree: lxml.html.HtmlElement
    base_url: str


def select(xpath: etree.XPath, root: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    """The elements a compiled element-selecting XPath finds, typed as such."""
    found = xpath(root)
    if not isinstance(found, list):
        return []
    return [el for el in found if isinstance(el, lxml.html.HtmlElement)]


def is_html(content_type: str | None) -> bool:
    if not content_type:
        return True  # servers of static files often omit it; sniffing decides
    return content_type.split(";")[0].strip().lower() in HTML_TYPES


def charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type, re.I)
    return match.group(1) if match else None


def _usable(encoding: str | None) -> str | None:
    """The codec a label names, if it decodes text: "hex", "base64", "rot13" or "zlib"
    are codecs too, but of bytes to bytes, and a page that names them is not in them."""
    if not encoding:
        return None
    name = ENCODING_ALIASES.get(encoding.lower(), encoding)
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    return info.name if getattr(info, "_is_text_encoding", True) else None


def decode(body: bytes, http_charset: str | None = None) -> str:
    """BOM, then valid UTF-8, then the HTTP charset, then <meta charset>.

    Valid UTF-8 wins over a declared charset: legacy servers often declare
    ISO-8859-1 for UTF-8 files, and multi-byte UTF-8 is almost never valid by chance.
    """
    for candidate in _candidates(body, http_charset):
        encoding = _usable(candidate)
        if encoding is None:
            continue
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text[1:] if text.startswith("\ufeff") else text
    return body.decode("utf-8", "replace")


def _candidates(body: bytes, http_charset: str | None) -> Iterator[str | None]:
    """Encodings to try, in order; detection (slow) only when all declarations fail."""
    yield EncodingDetector.strip_byte_order_mark(body)[1]
    yield "utf-8"
    yield http_charset
    meta = _META_CHARSET.search(body[:4096])
    if meta:
        label = meta.group(1).decode("ascii", "replace")
        # A page that can say "utf-16" in ASCII is not UTF-16: the HTML standard reads
        # such a <meta> as UTF-8 (real UTF-16 carries a BOM, read above).
        yield "utf-8" if label.lower().replace("_", "-").startswith("utf-16") else label
    yield _detect_multibyte(body)
    yield "windows-1252"


def _detect_multibyte(body: bytes) -> str | None:
    """An undeclared East Asian page; single-byte guesses are left to windows-1252,
    which is what an undeclared legacy Western page almost always is."""
    guess = charset_normalizer.from_bytes(body[:65536]).best()
    if guess is None or guess.encoding not in MULTIBYTE:
        return None
    return str(guess.encoding)


def parse_html(body: bytes, url: str, http_charset: str | None = None) -> Document:
    text = decode(body, http_charset)
    if "\x00" in text[:1024]:
        raise ParseError("binary content, not HTML")
    if not text.strip():
        raise ParseError("empty document")
    try:
        parser = _parser()
        tree = lxml.html.document_fromstring(text, parser=parser)
        if any(_TOO_DEEP in error.message for error in parser.error_log):
            tree = lxml.html.document_fromstring(flattened(text), parser=_parser())
    except (etree.ParserError, ValueError) as exc:
        raise ParseError(f"unparseable HTML: {exc}") from exc
    base_href = _base_href(tree)
    base_url = resolve(url, base_href) if base_href else None
    return Document(url=url, tree=tree, base_url=base_url or url)


def _base_href(tree: lxml.html.HtmlElement) -> str:
    """The first <base href>: a tag scan in C costs less than an XPath call."""
    return next((href for base in tree.iter("base") if (href := base.get("href")) is not None), "")


def links(doc: Document) -> tuple[list[str], list[Attachment]]:
    """Pages to crawl and documents to list: absolute URLs of <a>/<area href>, in page
    order, once each. Documents (by extension) are never fetched, only listed."""
    pages: dict[str, None] = {}
    documents: dict[str, Attachment] = {}
    resolved: dict[str, str | None] = {}  # menus repeat their links: resolve each once
    for anchor in doc.tree.iter("a", "area"):  # one pass in C, in page order
        href = anchor.get("href")
        if href is None:
            continue
        url = (
            resolved[href]
            if href in resolved
            else resolved.setdefault(href, resolve(doc.base_url, href))
        )
        if not url or url in pages or url in documents:
            continue  # menus and footers repeat their links: each URL is read once
        media_type = document_type(url)
        if media_type is None:
            pages.setdefault(url, None)
        else:
            text = " ".join((anchor.text_content() or anchor.get("alt") or "").split())
            documents[url] = Attachment(url=url, text=text, type=media_type)
    return list(pages), list(documents.values())


def document_type(url: str) -> str | None:
    """Media type of a link to a document (not a page), guessed from its extension."""
    last = url.split("?", 1)[0].rsplit("/", 1)[-1]  # normalised: no fragment
    if "." not in last:
        return None
    suffix = last.rsplit(".", 1)[-1].lower()
    if suffix not in DOCUMENT_SUFFIXES:
        return None
    return mimetypes.guess_type("x." + suffix)[0] or "application/octet-stream"
