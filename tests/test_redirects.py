"""The 301 map in its four forms, on real files (and through a real nginx when there is one)."""

from __future__ import annotations

import csv
import http.client
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from output_samples import SITE, article, page, qa_page, qa_record

from harvester.models import Record
from harvester.output import (
    REDIRECT_FORMATS,
    OutputError,
    open_output,
    write_redirects,
)


def legacy() -> list[Record]:
    return [
        page("/", aliases=[f"{SITE}/index.php"]),
        page("/articles", aliases=[f"{SITE}/articles.php"]),
        page("/articles/x.html"),
        page("/index.php?page=about"),
        page("/Article.aspx?id=3", aliases=[f"{SITE}/Article.aspx?id=3&print=1"]),
        page("/Über uns/", aliases=[f"{SITE}/ueber.php"]),
    ]


def markdown_slugs(tmp_path: Path, items: list[Record]) -> dict[str, str]:
    output = open_output("markdown", str(tmp_path / "content"))
    for record in items:
        output.write(record)
    output.commit()
    return output.slugs


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["from", "to", "status"]
    return rows[1:]


def test_csv_to_canonical_paths(tmp_path: Path) -> None:
    target = tmp_path / "redirects.csv"
    items = [qa_page(), article(), page("/")]
    assert write_redirects(str(target), [*items, qa_record()]) == 3  # type: ignore[list-item]
    knee = "/ask-a-pro/running-knee-pain/"
    assert read_csv(target) == [
        [f"{knee}?ref=old", knee, "301"],
        ["/knee.html", knee, "301"],
        ["/stretches.php?id=7", "/articles/caf%C3%A9-stretches/", "301"],
    ]


def test_csv_to_markdown_pages(tmp_path: Path) -> None:
    items = legacy()
    slugs = markdown_slugs(tmp_path, items)
    target = tmp_path / "redirects.csv"
    count = write_redirects(str(target), items, "csv", slugs)
    rows = read_csv(target)
    assert count == len(rows)
    assert rows == [
        ["/index.php", "/", "301"],
        ["/articles.php", "/articles/", "301"],
        ["/articles", "/articles/", "301"],
        ["/articles/x.html", "/articles/x/", "301"],
        ["/index.php?page=about", "/page-about/", "301"],
        ["/Article.aspx?id=3&print=1", "/article-id-3/", "301"],
        ["/Article.aspx?id=3", "/article-id-3/", "301"],
        ["/ueber.php", "/uber-uns/", "301"],
        ["/%C3%9Cber%20uns/", "/uber-uns/", "301"],
    ]
    sources = [row[0] for row in rows]
    assert len(sources) == len(set(sources))
    assert all(s.startswith("/") and "://" not in s for s in sources)


def test_no_self_redirect_and_one_row_per_source(tmp_path: Path) -> None:
    same = page("/a/", aliases=[f"{SITE}/a/", f"{SITE}/b", f"{SITE}/b"])
    other = page("/c", aliases=[f"{SITE}/b"])
    target = tmp_path / "r.csv"
    assert write_redirects(str(target), [same, other]) == 1
    assert read_csv(target) == [["/b", "/a/", "301"]]


def test_nginx(tmp_path: Path) -> None:
    items = legacy()
    target = tmp_path / "redirects.conf"
    write_redirects(str(target), items, "nginx", markdown_slugs(tmp_path, items))
    text = target.read_text()
    assert 'location = "/articles.php" { return 301 "/articles/"; }' in text
    assert 'location = "/Über uns/" { return 301 "/uber-uns/"; }' in text
    assert (
        'location = "/index.php" {\n'
        '    if ($args = "page=about") { return 301 "/page-about/"; }\n'
        '    return 301 "/";\n}'
    ) in text
    assert '    if ($args = "id=3&print=1") { return 301 "/article-id-3/"; }' in text


def test_apache(tmp_path: Path) -> None:
    items = legacy()
    target = tmp_path / ".htaccess"
    write_redirects(str(target), items, "apache", markdown_slugs(tmp_path, items))
    lines = target.read_text().splitlines()
    assert 'Redirect 301 "/articles.php" "/articles/"' in lines
    assert 'RedirectMatch 301 "^/articles$" "/articles/"' in lines  # a prefix would loop
    assert 'Redirect 301 "/articles/x.html" "/articles/x/"' in lines
    assert "RewriteEngine On" in lines
    at = lines.index("RewriteCond %{QUERY_STRING} ^page=about$")
    assert lines[at + 1] == 'RewriteRule "^index\\.php$" "/page-about/?" [R=301,L]'
    assert "RewriteCond %{QUERY_STRING} ^id=3&print=1$" in lines


def test_netlify(tmp_path: Path) -> None:
    items = legacy()
    target = tmp_path / "_redirects"
    write_redirects(str(target), items, "netlify", markdown_slugs(tmp_path, items))
    lines = target.read_text().splitlines()[1:]
    assert lines == [
        "/index.php page=about /page-about/ 301",
        "/Article.aspx id=3 print=1 /article-id-3/ 301",
        "/Article.aspx id=3 /article-id-3/ 301",
        "/index.php / 301",
        "/articles.php /articles/ 301",
        "/articles/x.html /articles/x/ 301",
        "/ueber.php /uber-uns/ 301",
        "/%C3%9Cber%20uns/ /uber-uns/ 301",
    ]  # query rules first; /articles -> /articles/ is one path to Netlify


@pytest.mark.parametrize("fmt", REDIRECT_FORMATS)
def test_written_atomically_through_a_symlink(tmp_path: Path, fmt: str) -> None:
    real = tmp_path / "conf" / "real"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "link"
    link.symlink_to(real)
    write_redirects(str(link), legacy(), fmt)
    assert link.is_symlink() and real.read_text() != "old"
    assert os.listdir(real.parent) == ["real"]


def test_unwritable_target_and_unknown_form(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="it is a folder"):
        write_redirects(str(tmp_path), legacy())
    with pytest.raises(ValueError, match="unknown redirect format"):
        write_redirects(str(tmp_path / "r"), legacy(), "iis")


# --- a real nginx --------------------------------------------------------------------

NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None
)
NGINX_CONF = """
daemon off;
pid {run}/nginx.pid;
error_log {run}/error.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {run}/www;
        include {include};
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[int]:
    if NGINX is None:
        pytest.skip("nginx is not installed")
    items = legacy()
    include = tmp_path / "redirects.conf"
    write_redirects(str(include), items, "nginx", markdown_slugs(tmp_path, items))
    (tmp_path / "www").mkdir()
    port = free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(NGINX_CONF.format(run=tmp_path, port=port, include=include))
    check = subprocess.run([NGINX, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    server = subprocess.Popen([NGINX, "-c", str(conf)], stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        server.wait(10)


def location(port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.getheader("Location") or ""


def test_nginx_serves_the_map(nginx: int) -> None:
    expected = {
        "/index.php?page=about": "/page-about/",
        "/index.php": "/",
        "/Article.aspx?id=3": "/article-id-3/",
        "/Article.aspx?id=3&print=1": "/article-id-3/",
        "/articles": "/articles/",
        "/articles/x.html": "/articles/x/",
        "/%C3%9Cber%20uns/": "/uber-uns/",
    }
    for source, target in expected.items():
        status, where = location(nginx, source)
        assert status == 301 and where.endswith(target), source
    assert location(nginx, "/Article.aspx?id=4")[0] != 301  # another query: not ours
