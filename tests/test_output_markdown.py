"""The Markdown folder on real files: names that stay, a folder that only changes on
commit, and never a file harvester did not write."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from output_samples import SITE, SUN, article, page, qa_page, qa_record

from harvester.models import QA, QARecord, Record
from harvester.output import MANIFEST, OutputError, markdown_of, open_output, slug_path

TESTS = Path(__file__).resolve().parent


def read_markdown(path: Path) -> tuple[dict[str, Any], str]:
    match = re.fullmatch(r"---\n(.*?\n)---\n\n(.*)", path.read_text("utf-8"), re.DOTALL)
    assert match, path
    front = yaml.safe_load(match.group(1))
    assert isinstance(front, dict)
    return front, match.group(2)


def commit(folder: Path, items: list[Record] | list[QARecord], **options: Any) -> dict[str, str]:
    output = open_output("markdown", str(folder))
    for record in items:
        output.write(record)
    output.commit(**options)
    return output.slugs


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes (the manifest included)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def md_files(folder: Path) -> list[str]:
    return sorted(name for name in tree(folder) if name.endswith(".md"))


# --- documents -----------------------------------------------------------------------


def test_qa_page_has_its_intro_and_every_qa(tmp_path: Path) -> None:
    slugs = commit(tmp_path, [qa_page()])
    assert slugs == {qa_page().id: "ask-a-pro/running-knee-pain.md"}
    front, body = read_markdown(tmp_path / "ask-a-pro" / "running-knee-pain.md")
    assert front == {
        "title": "Running Knee Pain",
        "url": "/ask-a-pro/running-knee-pain/",
        "aliases": ["/knee.html"],  # the ?ref=old alias only goes to the redirect map
        "date": "2019-03-04",
        "source_url": f"{SITE}/ask-a-pro/running-knee-pain/",
        "source_published": "2019-03-04",
        "source_section": "Ask A Pro, Get Answers",
        "page_kind": "qa",
        "language": "en-CA",
    }
    assert body == (
        "Our therapists answer.\n\n"
        "## My knee hurts when I run.\n\n"
        'Rest first.\n\n- ice, twice a day\n- no hills\n\nThen "see" us, please.\n\n'
        "— Jonathan Sun, BPE, CAT(C), Certified Athletic Therapist\n\n"
        "## Should I stretch?\n\nYes, gently.\n\n"
        "## Is \\<b\\>ice\\</b\\> better than heat?\n\nIce.\n\n— Dr. Jane Roe, DC\n"
    )


def test_qa_page_whose_text_holds_every_qa_is_rendered_from_its_text() -> None:
    record = page(
        "/faq",
        title="FAQ",
        kind="qa",
        qa=[QA("Do you bill insurers?", "Yes, directly.", SUN), QA("Parking?", "Free.")],
        text="# FAQ\n\nAsk us anything.\n\nDo you bill insurers?\n\nYes, directly.\n\n"
        "— Jonathan Sun\n\n### Parking?\n\nFree.",
    )
    _, body = markdown_of(record).split("---\n\n", 1)
    assert body == (
        "Ask us anything.\n\n## Do you bill insurers?\n\nYes, directly.\n\n"
        "— Jonathan Sun\n\n#### Parking?\n\nFree.\n"
    )


def test_no_null_and_no_draft_keys_in_front_matter() -> None:
    record = page("/x", title=None, published=None, modified=None, language=None)
    front, _ = read_front(markdown_of(record))
    assert None not in front.values()
    assert {"published", "modified", "draft", "publishDate", "date"}.isdisjoint(front)
    future = page("/y", published="2999-01-01", modified="2999-01-02")
    front, _ = read_front(markdown_of(future))
    assert "date" not in front and front["source_published"] == "2999-01-01"
    assert front["lastmod"] == "2999-01-02"


def read_front(text: str) -> tuple[dict[str, Any], str]:
    head, body = text.removeprefix("---\n").split("---\n\n", 1)
    front = yaml.safe_load(head)
    assert isinstance(front, dict)
    return front, body


def test_one_h1_and_literal_text() -> None:
    text = (
        "# Stretches: the --- basics #1\n\n"
        "Hold a*b*c for __init__ [x](y) `code` <b> & {{< x >}}\n\n"
        "## Why\n\n# 1 rule\n\n> not a quote\n-5 degrees\n1. not a list\n+ plus\n\n"
        "- item *one*\n- item two"
    )
    _, body = read_front(markdown_of(page("/s", title="Stretches: the ---\nbasics #1", text=text)))
    assert body.splitlines() == [
        r"Hold a\*b\*c for \_\_init\_\_ \[x\](y) \`code\` \<b\> \& \{\{\< x \>\}\}",
        "",
        "### Why",
        "",
        r"## 1 rule",
        "",
        r"\> not a quote",
        r"\-5 degrees",
        r"1\. not a list",
        r"\+ plus",
        "",
        r"- item \*one\*",
        "- item two",
    ]


def test_the_body_renders_as_meant() -> None:
    markdown_it = pytest.importorskip("markdown_it")
    text = "# Title\n\n# a*b*c\n\n__init__ [x](y) `c` <b>\n# no heading\n1. no list\n\n- one\n- two"
    _, body = read_front(markdown_of(page("/p", title="Title", text=text)))
    html = markdown_it.MarkdownIt("commonmark").render(body)
    assert html == (
        "<h2>a*b*c</h2>\n"
        "<p>__init__ [x](y) `c` &lt;b&gt;\n# no heading\n1. no list</p>\n"
        "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"
    )


def test_qa_records_get_distinct_pages_even_when_questions_slug_alike(tmp_path: Path) -> None:
    items = [qa_record("Knee pain?"), qa_record("Knee pain!"), qa_record("knee  PAIN")]
    slugs = commit(tmp_path, items)
    assert list(slugs.values()) == ["qa/knee-pain.md", "qa/knee-pain-2.md", "qa/knee-pain-3.md"]
    front, body = read_markdown(tmp_path / "qa" / "knee-pain-2.md")
    assert front["url"] == "/qa/knee-pain-2/" and front["title"] == "Knee pain!"
    assert front["source_urls"] == qa_record().urls
    assert front["answered_by"] == {
        "name": "Jonathan Sun",
        "credentials": "BPE, CAT(C)",
        "title": "Certified Athletic Therapist",
    }
    assert body.startswith("Rest first.") and body.endswith("Certified Athletic Therapist\n")


# --- names ---------------------------------------------------------------------------


def test_site_root_and_pages_with_children_are_sections(tmp_path: Path) -> None:
    items = [page("/"), page("/articles"), page("/articles/x.html"), page("/about.php")]
    slugs = commit(tmp_path, items)
    assert list(slugs.values()) == [
        "_index.md",
        "articles/_index.md",
        "articles/x.md",
        "about.md",
    ]
    assert read_markdown(tmp_path / "articles" / "_index.md")[0]["url"] == "/articles/"
    assert read_markdown(tmp_path / "_index.md")[0]["url"] == "/"


def test_a_name_stays_with_its_record(tmp_path: Path) -> None:
    guide, guide_html = page("/guide"), page("/guide.html", text="First.")
    assert commit(tmp_path, [guide, guide_html]) == {
        guide.id: "guide.md",
        guide_html.id: "guide-2.md",
    }
    before = (tmp_path / "guide.md").read_bytes()
    changed = page("/guide.html", text="Changed.")  # /guide is unchanged: not written
    slugs = commit(tmp_path, [changed], complete=False)
    assert slugs == {guide.id: "guide.md", guide_html.id: "guide-2.md"}
    assert (tmp_path / "guide.md").read_bytes() == before
    assert read_markdown(tmp_path / "guide-2.md")[1] == "Changed.\n"


def test_an_earlier_page_becomes_a_section_when_pages_appear_below_it(tmp_path: Path) -> None:
    articles = page("/articles", text="All articles.")
    commit(tmp_path, [articles])
    assert md_files(tmp_path) == ["articles.md"]
    slugs = commit(tmp_path, [page("/articles/x.html")], complete=False)  # /articles unchanged
    assert md_files(tmp_path) == ["articles/_index.md", "articles/x.md"]
    assert slugs[articles.id] == "articles/_index.md"
    assert read_markdown(tmp_path / "articles" / "_index.md")[1] == "All articles.\n"


def test_a_file_harvester_did_not_write_is_never_replaced_or_removed(tmp_path: Path) -> None:
    (tmp_path / "about.md").write_text("mine")
    (tmp_path / "notes.txt").write_text("mine too")
    slugs = commit(tmp_path, [page("/about"), page("/old")])
    assert slugs[page("/about").id] == "about-2.md"
    commit(tmp_path, [page("/about")])
    assert (tmp_path / "about.md").read_text() == "mine"
    assert (tmp_path / "notes.txt").read_text() == "mine too"
    assert md_files(tmp_path) == ["about-2.md", "about.md"]  # old.md was ours: removed


def test_gone_records_are_removed_only_by_a_complete_run(tmp_path: Path) -> None:
    keep, gone = page("/keep"), page("/gone/deep")
    commit(tmp_path, [keep, gone])
    commit(tmp_path, [keep], complete=False)  # only what changed: the others stay
    assert md_files(tmp_path) == ["gone/deep.md", "keep.md"]
    commit(tmp_path, [], complete=True, current={keep.id, gone.id})  # both unchanged
    assert md_files(tmp_path) == ["gone/deep.md", "keep.md"]
    commit(tmp_path, [keep])  # every record written: /gone/deep is no longer on the site
    assert md_files(tmp_path) == ["keep.md"]
    assert not (tmp_path / "gone").exists()  # the folder it left empty
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["records"] == {keep.id: {"path": "keep.md", "aliases": []}}


def test_aliases_never_take_a_page_address_or_another_alias(tmp_path: Path) -> None:
    a = page("/a.html", aliases=[f"{SITE}/b", f"{SITE}/shared", f"{SITE}/x?id=1"])
    b = page("/b")
    c = page("/c", aliases=[f"{SITE}/shared/", f"{SITE}/c/"])
    commit(tmp_path, [a, b, c])
    assert read_markdown(tmp_path / "a.md")[0]["aliases"] == ["/a.html", "/shared"]
    assert "aliases" not in read_markdown(tmp_path / "b.md")[0]
    assert "aliases" not in read_markdown(tmp_path / "c.md")[0]


# --- lifecycle -----------------------------------------------------------------------


def test_abandon_leaves_the_folder_untouched(tmp_path: Path) -> None:
    folder = tmp_path / "site"
    commit(folder, [article(), qa_page()])
    before = tree(folder)
    output = open_output("markdown", str(folder))
    for record in [page("/new"), page("/articles/café-stretches/", text="changed")]:
        output.write(record)
    assert tree(folder) == before
    output.abandon()
    assert tree(folder) == before
    assert os.listdir(tmp_path) == ["site"]


def test_a_new_folder_is_not_created_by_an_abandoned_run(tmp_path: Path) -> None:
    output = open_output("markdown", str(tmp_path / "site"))
    output.write(article())
    output.abandon()
    assert os.listdir(tmp_path) == []


KILLED = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {tests!r})
    from output_samples import page
    from harvester.output import open_output
    output = open_output("markdown", {target!r})
    for number in range(200):
        output.write(page(f"/p/{{number}}", text="changed " * 200))
        if number == 100:
            print("ready", flush=True)
            time.sleep(60)
    """
)


def test_kill_9_mid_write_leaves_the_folder_intact(tmp_path: Path) -> None:
    folder = tmp_path / "site"
    commit(folder, [page(f"/p/{n}") for n in range(150)])
    before = tree(folder)
    code = KILLED.format(tests=str(TESTS), target=str(folder))
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline() == "ready\n"
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    assert tree(folder) == before
    assert len(os.listdir(tmp_path)) == 2  # the dead process's staging folder
    commit(folder, [page("/p/1")])  # the next run removes it
    assert os.listdir(tmp_path) == ["site"]


def test_a_symlinked_folder_is_followed(tmp_path: Path) -> None:
    real, link = tmp_path / "real", tmp_path / "content"
    real.mkdir()
    link.symlink_to(real, target_is_directory=True)
    commit(link, [article()])
    assert link.is_symlink()
    assert (real / "articles" / "cafe-stretches.md").is_file()


def test_a_symlink_in_the_folder_does_not_carry_files_out(tmp_path: Path) -> None:
    folder, outside = tmp_path / "site", tmp_path / "outside"
    folder.mkdir()
    outside.mkdir()
    (folder / "ask-a-pro").symlink_to(outside, target_is_directory=True)
    output = open_output("markdown", str(folder))
    with pytest.raises(OutputError, match="outside"):
        output.write(qa_page())
    with pytest.raises(OutputError, match="outside"):
        output.write(page("/ask-a-pro/deep/knee/"))
    output.abandon()
    assert list(outside.iterdir()) == []


def test_the_target_must_be_a_folder(tmp_path: Path) -> None:
    target = tmp_path / "records.md"
    target.write_text("x")
    with pytest.raises(OutputError, match="it is a file") as error:
        open_output("markdown", str(target))
    assert "\n" not in str(error.value)
    with pytest.raises(OutputError, match="stdout"):
        open_output("markdown", "-")


# --- slugs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://site/ask-a-pro/running-knee-pain/", "ask-a-pro/running-knee-pain"),
        ("https://site/", "index"),
        ("https://site", "index"),
        ("https://site/index.html", "index"),
        ("https://site/about/index.php", "about"),
        ("https://site/About-Us.HTML", "about-us"),
        ("https://site/index.php?page=about", "page-about"),
        ("https://site/forum/viewtopic.php?t=12&start=20", "forum/viewtopic-t-12-start-20"),
        ("http://x/../../etc/passwd", "etc/passwd"),
        ("http://x/%2e%2e/%2e%2e/secret", "secret"),
        ("http://x/café/日本語/", "cafe/日本語"),
        ("http://x/CON", "con-page"),
        ("http://x/lpt9/", "lpt9-page"),
        ("http://x/aux.txt", "aux-txt"),
        ("http://x/a/b/../../../../c", "a/b/c"),
        ("http://x/a%2Fb%5Cc%00d", "a-b-c-d"),
    ],
)
def test_slug_path(url: str, expected: str) -> None:
    assert slug_path(url) == expected


HOSTILE = [
    "http://x/../../etc/passwd",
    "http://x/%2e%2e/%2e%2e/secret",
    "http://x/" + "a" * 5000,
    "http://x/" + "b" * 5000,
    "http://x/" + "/".join(["segment"] * 700),
    "http://x/café/日本語/",
    "http://x/CON",
    "http://x/con/",
    "http://x/aux.txt",
    "http://x/a/b/../../../../c",
    "http://x",
    "http://x/",
    "http://x/Page",
    "http://x/page",
    "http://x/page-2",
    "http://x/%00/%0a/%5C..%5C..%5Cwin",
    "http://x/.../....//",
    "http://x/C:%5Cwindows%5Csystem32",
    "http://x//etc/shadow",
    "http://x/%E2%80%AEfdp.exe",
    "http://x/foo/_index",
    "http://x/foo/index/",
]


def test_hostile_urls_stay_inside_and_get_distinct_files(tmp_path: Path) -> None:
    folder = tmp_path / "site"
    items = [page(url) for url in HOSTILE]
    slugs = commit(folder, items)
    relatives = [slugs[record.id] for record in items]
    assert len({path.casefold() for path in relatives}) == len(HOSTILE)
    assert md_files(folder) == sorted(relatives)
    root = folder.resolve()
    for relative in relatives:
        path = folder / relative
        assert path.resolve().is_relative_to(root), path
        assert len(relative.encode()) < 200
        for part in relative.removesuffix(".md").split("/"):
            assert part and part not in {".", "..", "index"}
            assert len(part.encode()) <= 100
            assert part.casefold() not in {"con", "prn", "aux", "nul", "com1", "lpt1"}
            assert not any(ord(char) < 32 or char in '\\:*?"<>|' for char in part)
        assert read_markdown(path)[0]["source_url"] in HOSTILE


def test_listing_page_links_each_entry() -> None:
    from harvester.models import Entry

    listing = page(
        "/blog/",
        title="Blog",
        kind="listing",
        text="# Blog\n\nNews from the clinic.\n\n## Knee *pain*\n\nWhy knees hurt.\n\n"
        "## Shin splints",
        entries=[
            Entry("Knee *pain*", SITE + "/blog/knee-pain.html", "Why knees hurt.", "2019-03-04"),
            Entry("Shin splints", SITE + "/blog/shin-splints/"),
        ],
    )
    _, body = markdown_of(listing, "blog/_index.md").split("---\n", 2)[1:]
    assert "News from the clinic." in body
    assert "- [Knee \\*pain\\*](/blog/knee-pain/) (2019-03-04): Why knees hurt." in body
    assert "- [Shin splints](/blog/shin-splints/)" in body
    assert body.count("Shin splints") == 1  # the entries replace the teasers' text
