"""Settings from a file: `harvester.toml`, `[tool.harvester]` in pyproject.toml, or `-`
(stdin) with `--config -`.

The keys are the flags' own names (`max-pages`, `format`, `allow-domain`; `max_pages` is
read too). Top-level keys apply to every command that has the flag; a table named after a
command (`[crawl]`) applies to that command only. Flags given on the command line win.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import Any

from .settings import BY_NAME, COMMANDS, DEFAULTS, SettingError, checked, key_of, toml_value

CONFIG_FILE = "harvester.toml"


class ConfigError(ValueError):
    """A config file that cannot be read or names a setting that does not exist."""


def find_config(explicit: Path | None, cwd: Path) -> tuple[str | None, dict[str, Any]]:
    """The file in use (its name, for messages) and its harvester settings."""
    if explicit is not None:
        return str(explicit), _read(explicit, harvester_table=False)
    if (cwd / CONFIG_FILE).is_file():
        return CONFIG_FILE, _read(cwd / CONFIG_FILE, harvester_table=False)
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        settings = _read(pyproject, harvester_table=True)
        if settings:
            return "pyproject.toml", settings
    return None, {}


def _read(path: Path, harvester_table: bool) -> dict[str, Any]:
    name = "stdin" if str(path) == "-" else str(path)
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text("utf-8")
        data = tomllib.loads(text)
    except OSError as exc:
        raise ConfigError(f"cannot read {name}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{name} is not valid TOML: {exc}") from None
    if harvester_table:
        table = data.get("tool", {}).get("harvester", {})
        return table if isinstance(table, dict) else {}
    return data


def default_map(settings: dict[str, Any], source: str) -> dict[str, dict[str, Any]]:
    """click's default_map for each command: the file's values, checked and converted
    here, so that a bad one is blamed on the file and its key, never on a flag."""
    top = {k: v for k, v in settings.items() if not (isinstance(v, dict) and k in COMMANDS)}
    try:
        common = checked(top, source)
        result: dict[str, dict[str, Any]] = {}
        for command in COMMANDS:
            table = settings.get(command, {})
            own = checked(table, f"{source}: [{command}]") if isinstance(table, dict) else {}
            for name in own:
                if command not in BY_NAME[name].metadata["commands"]:
                    raise ConfigError(f"{source}: [{command}] has no setting {key_of(name)!r}")
            merged = {**common, **own}
            result[command] = {
                n: v for n, v in merged.items() if command in BY_NAME[n].metadata["commands"]
            }
    except SettingError as exc:
        raise ConfigError(str(exc)) from None
    return result


def show(settings: dict[str, Any]) -> str:
    """The effective settings as TOML that reads back the same: the file's own values as
    keys, every other setting as a commented default."""
    lines: list[str] = []
    tables = {k: v for k, v in settings.items() if isinstance(v, dict) and k in COMMANDS}
    top = {k: v for k, v in settings.items() if k not in tables}
    given = checked(top, "settings")
    for name in BY_NAME:
        if name in given:
            lines.append(f"{key_of(name)} = {_toml(given[name])}")
        else:
            default = getattr(DEFAULTS, name)
            shown = "(unset)" if default is None else _toml(default)
            lines.append(f"# {key_of(name)} = {shown}")
    for command, table in tables.items():
        lines += ["", f"[{command}]"]
        lines += [f"{key_of(n)} = {_toml(v)}" for n, v in checked(table, command).items()]
    return "\n".join(lines) + "\n"


def _toml(value: Any) -> str:
    return toml_value(str(value) if isinstance(value, Path) else value)
