"""The Markdown folder built by a real Hugo (Debian's `hugo`): every page where its `url`
says, none a draft, no duplicate targets, every alias a redirect page, text as written."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from output_samples import SITE, SUN, page

from harvester.models import QA, Person, QARecord, Record
from harvester.output import open_output

HUGO = shutil.which("hugo")
pytestmark = pytest.mark.skipif(HUGO is None, reason="hugo is not installed (apt-get install hugo)")

CONFIG = """
baseURL = "http://example.org/"
contentDir = "{content}"
disableKinds = ["taxonomy", "term", "RSS", "sitemap", "robotsTXT", "404"]
"""
LAYOUT = "<html><body><h1>{{ .Title }}</h1>\n{{ .Content }}</body></html>\n"


def legacy_site() -> list[Record]:
    faq = page(
        "/faq.php",
        title="FAQ",
        kind="qa",
        text="Our therapists answer your questions every week.",
        qa=[
            QA("Do you bill insurers?", "Yes, we bill them directly.", SUN),
            QA("Is parking free?", "Free behind the clinic.", Person("Ann Lee", "RMT")),
        ],
    )
    return [
        page("/", title="Home", text="Welcome."),
        page("/articles", title="Articles", text="All our articles."),
        page(
            "/articles/x.html",
            title="Stretching",
            text="# Stretching\n\nUse a*b*c and call __init__ first.\n\n"
            "## Warm up\n\n- walk\n- jog\n\n"
            "Not a {{< shortcode >}}, <b>tag</b>, [link](y) or `code`.\n# nor a heading",
        ),
        page("/index.php?page=about", title="About", text="About us."),
        page("/Article.aspx?id=3", title="Article three", text="Third."),
        page(
            "/contact",
            title="Contact",
            text="Call us.",
            aliases=[f"{SITE}/contact.php", f"{SITE}/Contact-Us.html", f"{SITE}/contact?old=1"],
        ),
        faq,
        page("/news", title="News", published="2999-01-01", text="Still built."),
    ]


def front_of(path: Path) -> dict[str, object]:
    front = yaml.safe_load(path.read_text("utf-8").split("---\n")[1])
    assert isinstance(front, dict)
    return front


def build(site: Path, *flags: str) -> tuple[str, Path]:
    destination = site / ("public" + "".join(flags).replace("-", ""))
    assert HUGO is not None
    command = [HUGO, "--printPathWarnings", "--source", str(site), "--destination"]
    run = subprocess.run(
        [*command, str(destination), *flags],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout + run.stderr, destination


def built_pages(public: Path) -> set[str]:
    """Pages Hugo rendered with our layout (alias redirect pages have no <h1>)."""
    return {
        p.relative_to(public).as_posix()
        for p in public.rglob("*.html")
        if "<h1>" in p.read_text("utf-8")
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    site = tmp_path_factory.mktemp("hugo")
    content = site / "content"
    output = open_output("markdown", str(content))
    for record in legacy_site():
        output.write(record)
    output.commit()
    (site / "config.toml").write_text(CONFIG.format(content=content))
    layouts = site / "layouts" / "_default"
    layouts.mkdir(parents=True)
    for name in ("single.html", "list.html"):
        (layouts / name).write_text(LAYOUT)
    log, public = build(site)
    return content, public, log


def test_no_warnings_and_no_duplicate_targets(built: tuple[Path, Path, str]) -> None:
    _, _, log = built
    assert "Duplicate target paths" not in log
    assert not re.search(r"\b(WARN|ERROR)\b", log), log


def test_every_record_renders_at_its_url(built: tuple[Path, Path, str]) -> None:
    content, public, _ = built
    files = sorted(content.rglob("*.md"))
    assert len(files) == len(legacy_site())
    for file in files:
        front = front_of(file)
        url = str(front["url"])
        rendered = public / url.lstrip("/") / "index.html"
        assert rendered.is_file(), url
        assert f"<h1>{html.escape(str(front['title']))}</h1>" in rendered.read_text("utf-8")
    urls = {str(front_of(f)["url"]) for f in files}
    assert {"/", "/articles/", "/articles/x/", "/page-about/", "/article-id-3/"} <= urls


def test_no_page_is_a_draft(built: tuple[Path, Path, str]) -> None:
    content, public, _ = built
    _, with_drafts = build(content.parent, "--buildDrafts", "--buildFuture", "--buildExpired")
    assert built_pages(public) == built_pages(with_drafts)
    assert len(built_pages(public)) == len(legacy_site())


def test_every_alias_is_a_redirect_page(built: tuple[Path, Path, str]) -> None:
    content, public, _ = built
    aliases = {
        str(alias): str(front_of(f)["url"])
        for f in content.rglob("*.md")
        for alias in front_of(f).get("aliases", [])  # type: ignore[attr-defined]
    }
    assert {"/contact.php", "/Contact-Us.html", "/articles/x.html", "/faq.php"} <= set(aliases)
    assert not any("?" in alias for alias in aliases)
    for alias, url in aliases.items():
        target = alias.lstrip("/")
        page_file = public / (target if target.endswith(".html") else target + "/index.html")
        text = page_file.read_text("utf-8")
        assert f'url=http://example.org{url}"' in text, alias


def test_faq_has_its_intro_and_every_qa(built: tuple[Path, Path, str]) -> None:
    _, public, _ = built
    text = html.unescape((public / "faq" / "index.html").read_text("utf-8"))
    for expected in (
        "Our therapists answer your questions every week.",
        '<h2 id="do-you-bill-insurers">Do you bill insurers?</h2>',
        "Yes, we bill them directly.",
        "— Jonathan Sun, BPE, CAT(C), Certified Athletic Therapist",
        "Is parking free?</h2>",
        "Free behind the clinic.",
        "— Ann Lee, RMT",
    ):
        assert expected in text
    assert text.index("Our therapists") < text.index("Do you bill") < text.index("Is parking")


def test_text_renders_literally_with_one_h1(built: tuple[Path, Path, str]) -> None:
    _, public, _ = built
    text = (public / "articles" / "x" / "index.html").read_text("utf-8")
    assert "Use a*b*c and call __init__ first." in html.unescape(text)
    assert "Not a {{< shortcode >}}, <b>tag</b>, [link](y) or `code`.\n# nor a heading" in (
        html.unescape(text)
    )
    assert "<code>" not in text and "<a " not in text
    assert "<em>" not in text and "<strong>" not in text
    assert text.count("<h1>") == 1
    assert '<h3 id="warm-up">Warm up</h3>' in text
    assert "<li>walk</li>" in text


def test_qa_records_build_at_distinct_urls(tmp_path: Path) -> None:
    questions = ["Knee pain?", "Knee pain!", "Is ice better than heat?"]
    items = [
        QARecord(f"q{n}", question, "Ice, then heat.", SUN, [f"{SITE}/faq"], None)
        for n, question in enumerate(questions)
    ]
    content = tmp_path / "content"
    output = open_output("markdown", str(content))
    for record in items:
        output.write(record)
    output.commit()
    (tmp_path / "config.toml").write_text(CONFIG.format(content=content))
    layouts = tmp_path / "layouts" / "_default"
    layouts.mkdir(parents=True)
    for name in ("single.html", "list.html"):
        (layouts / name).write_text(LAYOUT)
    log, public = build(tmp_path)
    assert "Duplicate target paths" not in log
    urls = [str(front_of(content / output.slugs[r.id])["url"]) for r in items]
    assert urls == ["/qa/knee-pain/", "/qa/knee-pain-2/", "/qa/is-ice-better-than-heat/"]
    for url, question in zip(urls, questions, strict=True):
        text = html.unescape((public / url.strip("/") / "index.html").read_text("utf-8"))
        assert f"<h1>{question}</h1>" in text and "Ice, then heat." in text
