"""Settings from harvester.toml or pyproject.toml; flags win; unknown keys are errors."""

from __future__ import annotations

from pathlib import Path

from conftest import Server, read_records, run_cli


def test_config_file_sets_defaults_and_flags_win(sample_site: Server, tmp_path: Path) -> None:
    (tmp_path / "harvester.toml").write_text(
        'delay = 0\nquiet = true\n\n[crawl]\nmax-pages = 3\nemit = "qa"\n'
    )
    out = tmp_path / "out.jsonl"
    result = run_cli("crawl", sample_site.url, "-o", str(out), cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == ""  # quiet from the file
    assert all("question" in r for r in read_records(out, _qa_schema()))
    result = run_cli(
        "crawl",
        sample_site.url,
        "-o",
        str(out),
        "--emit",
        "pages",
        "--max-pages",
        "100",
        "--fresh",
        cwd=tmp_path,
    )
    assert result.returncode == 0
    assert len(read_records(out)) == 14  # the flags won


def test_pyproject_table_and_config_show(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.harvester]\nmax_pages = 7\n")
    shown = run_cli("config", "show", cwd=tmp_path)
    assert shown.returncode == 0
    assert "\nmax-pages = 7\n" in shown.stdout and "pyproject.toml" in shown.stdout
    assert "\n# delay = 0.5\n" in shown.stdout


def test_unknown_or_broken_config_is_a_usage_error(tmp_path: Path) -> None:
    for text, message in (
        ("bogus = 1\n", "harvester.toml: unknown setting 'bogus'"),
        ("[crawl]\nnope = 2\n", "harvester.toml: [crawl]: unknown setting 'nope'"),
        ("delay = \n", "not valid TOML"),
    ):
        (tmp_path / "harvester.toml").write_text(text)
        result = run_cli("crawl", "http://127.0.0.1:9/", cwd=tmp_path)
        assert result.returncode == 2, text
        assert message in result.stderr and "Traceback" not in result.stderr


def _qa_schema() -> dict[str, object]:
    from conftest import QA_SCHEMA

    return QA_SCHEMA
