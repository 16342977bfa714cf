"""Scope flags, redirect loops and back-off, against a real server."""

from __future__ import annotations

from pathlib import Path

from conftest import Server, read_records, run_cli

from harvester.fetch import HostGate


def page(title: str, links: str = "") -> bytes:
    body = f"<html><body><main><h1>{title}</h1><p>{title} has words of its own.</p>{links}"
    return (body + "</main></body></html>").encode()


def scoped_site(server: Server) -> None:
    links = "".join(
        f"<a href='{path}'>{path}</a> "
        for path in ("/blog/one", "/blog/two", "/shop/cart", "/loop-a", "/blog/three?print=1")
    )
    server.route("/", lambda h: h.send_body(200, page("Home", links)))
    for path in ("/blog/one", "/blog/two", "/shop/cart", "/blog/three"):
        server.route(path, lambda h, p=path: h.send_body(200, page(p)))

    def redirect(target: str):  # type: ignore[no-untyped-def]
        return lambda h: h.send_body(302, b"", "text/html", {"Location": target})

    server.route("/loop-a", redirect("/loop-b"))
    server.route("/loop-b", redirect("/loop-a"))
    server.route("/robots.txt", lambda h: h.send_body(404, b"", "text/plain"))


def test_include_exclude(fixture_site: Server, tmp_path: Path) -> None:
    scoped_site(fixture_site)
    out = tmp_path / "out.jsonl"
    result = run_cli(
        "crawl",
        fixture_site.url,
        "-o",
        str(out),
        "--delay",
        "0",
        "--include",
        "/blog/",
        "--exclude",
        r"print=1",
    )
    assert result.returncode == 0, result.stderr
    assert {r["title"] for r in read_records(out)} == {"Home", "/blog/one", "/blog/two"}
    assert "/shop/cart" not in fixture_site.requests
    assert not [p for p in fixture_site.requests if "print" in p]


def test_redirect_loop_is_a_failure_not_a_hang(fixture_site: Server, tmp_path: Path) -> None:
    scoped_site(fixture_site)
    out = tmp_path / "out.jsonl"
    result = run_cli("crawl", fixture_site.url, "-o", str(out), "--delay", "0")
    assert result.returncode == 1
    assert "redirect loop" in result.stderr
    assert fixture_site.state.hits["/loop-a"] == 1 and fixture_site.state.hits["/loop-b"] == 1


def test_invalid_regex_is_a_usage_error() -> None:
    result = run_cli("crawl", "http://127.0.0.1:9/", "--include", "(")
    assert result.returncode == 2 and "invalid regular expression" in result.stderr


def test_markdown_output_onto_a_file_is_a_usage_error(tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_text("x")
    result = run_cli("crawl", "http://127.0.0.1:9/", "--format", "markdown", "-o", str(target))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_back_off_grows_on_overload_and_decays() -> None:
    gate = HostGate(per_host=2, delay=0.0)
    assert gate.host_delay("h") == 0.0
    gate.slow_down("h")
    gate.slow_down("h")
    assert gate.host_delay("h") == 2.0
    for _ in range(40):
        gate.observe("h", 0.01)
    assert gate.host_delay("h") == 0.0
    gate.observe("h", 0.05)
    gate.observe("h", 3.0)  # far slower than its average: back off
    assert gate.host_delay("h") >= 1.5
    gate.set_crawl_delay("h", 10.0)
    assert gate.host_delay("h") == 10.0
