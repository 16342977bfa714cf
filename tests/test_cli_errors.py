"""Bad input: one clear line on stderr, a non-zero exit, never a traceback."""

from __future__ import annotations

from pathlib import Path

from conftest import Server, run_cli


def assert_one_line_error(stderr: str) -> None:
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("harvester: error: ") or lines[0].startswith("Error: ")


def test_unreachable_host(free_port: int, tmp_path: Path) -> None:
    result = run_cli(
        "crawl", f"http://127.0.0.1:{free_port}/", "-o", str(tmp_path / "o.jsonl"), "--quiet"
    )
    assert result.returncode == 3
    assert_one_line_error(result.stderr)
    assert "connection refused" in result.stderr


def test_invalid_url(tmp_path: Path) -> None:
    for bad in ("not a url", "ftp://example.com/", "http://", "http://host:99999/"):
        result = run_cli("crawl", bad, "-o", str(tmp_path / "o.jsonl"))
        assert result.returncode == 2, bad
        assert_one_line_error(result.stderr)
        assert "invalid URL" in result.stderr


def test_unwritable_output(sample_site: Server, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    # A folder is a Markdown target unless the format says otherwise.
    for target, fmt in ((blocker / "out.jsonl", "jsonl"), (tmp_path, "jsonl")):
        result = run_cli("crawl", sample_site.url, "-o", str(target), "--format", fmt)
        assert result.returncode == 2, target
        assert_one_line_error(result.stderr)
        assert "cannot write" in result.stderr
    assert sample_site.requests == []  # failed before sending anything


def test_unknown_flag_value() -> None:
    result = run_cli("crawl", "http://127.0.0.1/", "--emit", "everything")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_missing_extract_input(tmp_path: Path) -> None:
    result = run_cli("extract", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert_one_line_error(result.stderr)
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("extract", str(empty))
    assert result.returncode == 2
    assert "no HTML files" in result.stderr


def test_help_explains_every_flag() -> None:
    result = run_cli("crawl", "--help")
    assert result.returncode == 0
    for flag in (
        "--max-pages",
        "--max-depth",
        "--concurrency",
        "--delay",
        "--user-agent",
        "--emit",
        "--quiet",
        "--output",
    ):
        assert flag in result.stdout
