"""One settings model: flags, config keys, library arguments and defaults agree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from conftest import Server, run_cli

import harvester
from harvester.cli import main
from harvester.settings import BY_NAME, DEFAULTS, SETTINGS, SettingError, Settings, key_of


def _sample_value(name: str) -> Any:
    """A valid value that is not the default, for every setting."""
    setting = BY_NAME[name]
    meta = setting.metadata
    if meta["flag"]:
        return True
    if meta["multiple"]:
        return ["example.org"] if name == "allow_domain" else ["x"]
    kind = meta["type"]
    if isinstance(kind, click.Choice):
        return next(c for c in kind.choices if c != setting.default)
    if isinstance(kind, click.IntRange):
        return int(kind.min or 0) + 2
    if isinstance(kind, click.FloatRange):
        return float(kind.min or 0) + 0.5 if kind.max is None else float(kind.max)
    if isinstance(kind, click.Path):
        return f"some/{name}.out"
    return "http://127.0.0.1/" if name == "base_url" else f"value {name}"


def test_every_flag_is_a_setting_and_every_setting_a_flag() -> None:
    for name, command in main.commands.items():
        if name in ("config",):
            continue
        flags = {p.name for p in command.params if isinstance(p, click.Option)} - {"help"}
        model = {s.name for s in SETTINGS if name in s.metadata["commands"]}
        assert flags == model, name


def test_a_config_file_with_every_flag_name_loads(tmp_path: Path) -> None:
    lines = [f"{key_of(s.name)} = {_toml(_sample_value(s.name))}" for s in SETTINGS]
    (tmp_path / "harvester.toml").write_text("\n".join(lines) + "\n")
    shown = run_cli("config", "show", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    for line in lines:
        assert f"\n{line}\n" in shown.stdout
    assert "#" not in shown.stdout.split("\n", 1)[1]  # nothing left at its default


def test_config_show_reads_back_the_same(tmp_path: Path) -> None:
    (tmp_path / "harvester.toml").write_text(
        'format = "csv"\nallow-domain = ["a.example"]\ndelay = 0\n\n[crawl]\nmax-pages = 3\n'
    )
    first = run_cli("config", "show", cwd=tmp_path)
    assert first.returncode == 0 and "max-depth" in first.stdout
    again = subprocess.run(
        [sys.executable, "-m", "harvester", "--config", "-", "config", "show"],
        input=first.stdout,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.split("\n", 1)[1] == first.stdout.split("\n", 1)[1]
    assert "Sentinel" not in first.stdout and 'max-depth = ""' not in first.stdout


def test_config_piped_into_a_crawl(sample_site: Server, tmp_path: Path) -> None:
    config = 'delay = 0\nmax-pages = 2\nformat = "json"\nquiet = true\n'
    out = tmp_path / "out.txt"
    result = subprocess.run(
        [sys.executable, "-m", "harvester", "--config", "-", "crawl", sample_site.url],
        input=config + f'output = "{out}"\n',
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert out.read_text().startswith("[")  # format from the file, not from .txt


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("per-host = 300\n", "harvester.toml: per-host: 300 is not an integer from 1 to 64"),
        ('format = "xml"\n', 'harvester.toml: format: "xml" is not one of jsonl, json, csv'),
        ("quiet = 1\n", "harvester.toml: quiet: 1 is not true or false"),
        ('include = "x"\n', "harvester.toml: include: give a list"),
        ("fmt = 'json'\n", "harvester.toml: unknown setting 'fmt'"),
        ("max_pagez = 2\n", "did you mean 'max-pages'?"),
        ("[crawl]\nbase-url = 'http://x/'\n", "[crawl] has no setting 'base-url'"),
    ],
)
def test_a_bad_value_names_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "harvester.toml").write_text(text)
    result = run_cli("crawl", "http://127.0.0.1:9/", cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and "--" not in result.stderr


def test_the_library_takes_the_same_names() -> None:
    settings = Settings.for_library({"max_pages": "7", "allow_domain": ["a.example"]})
    assert settings.max_pages == 7 and settings.allow_domain == ("a.example",)
    assert settings.output is None and settings.workers == 0  # the library's own defaults
    assert settings.delay == DEFAULTS.delay
    with pytest.raises(SettingError, match="unknown setting 'max_pagez'"):
        list(harvester.harvest(["http://127.0.0.1:9/"], max_pagez=3))
    with pytest.raises(SettingError, match="per_host: 0 is not an integer from 1 to 64"):
        list(harvester.harvest(["http://127.0.0.1:9/"], per_host=0))


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_version_and_help_load_nothing_heavy(flag: str) -> None:
    probe = (
        "import sys\n"
        f"sys.argv = ['harvester', '{flag}']\n"
        "from harvester.entry import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = {'datasketch', 'scipy', 'numpy', 'lxml', 'httpx', 'rich', 'yaml', 'bs4',"
        " 'starlette', 'uvicorn', 'psycopg'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout.splitlines()[-1] == "[]", result.stdout
    if flag == "--version":
        assert result.stdout.splitlines()[0] == "harvester, version " + harvester.__version__


def test_lazy_commands_are_listed_with_their_own_help() -> None:
    from harvester.cli import LazyGroup

    ctx = click.Context(main)
    for name, (_, listed) in LazyGroup.lazy.items():
        command = main.get_command(ctx, name)
        assert command is not None and command.get_short_help_str(200) == listed


def _toml(value: Any) -> str:
    from harvester.settings import toml_value

    return toml_value(value)
