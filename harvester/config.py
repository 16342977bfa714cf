"""Settings from a file: `harvester.toml`, or `[tool.harvester]` in pyproject.toml.

The keys are the command-line flags (`max-pages` or `max_pages`). Top-level keys apply to
every command that has the flag; a table named after a command (`[crawl]`) applies to that
command only. Flags given on the command line win over the file.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

import click

CONFIG_FILE = "harvester.toml"


class ConfigError(ValueError):
    """A config file that cannot be read or names a setting that does not exist."""


def find_config(explicit: Path | None, cwd: Path) -> tuple[Path | None, dict[str, Any]]:
    """The file in use and its harvester settings."""
    if explicit is not None:
        return explicit, _read(explicit, harvester_table=False)
    if (cwd / CONFIG_FILE).is_file():
        return cwd / CONFIG_FILE, _read(cwd / CONFIG_FILE, harvester_table=False)
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        settings = _read(pyproject, harvester_table=True)
        if settings:
            return pyproject, settings
    return None, {}


def _read(path: Path, harvester_table: bool) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    if harvester_table:
        table = data.get("tool", {}).get("harvester", {})
        return table if isinstance(table, dict) else {}
    return data


def _options(command: click.Command) -> dict[str, click.Parameter]:
    return {p.name: p for p in command.params if isinstance(p, click.Option) and p.name}


def default_map(
    settings: dict[str, Any], commands: dict[str, click.Command], source: Path
) -> dict[str, dict[str, Any]]:
    """click's default_map for the subcommands; unknown keys are errors, not ignored."""
    result: dict[str, dict[str, Any]] = {name: {} for name in commands}
    for key, value in settings.items():
        if isinstance(value, dict) and key in commands:
            for inner, inner_value in value.items():
                name = inner.replace("-", "_")
                if name not in _options(commands[key]):
                    raise ConfigError(f"{source}: [{key}] has no setting {inner!r}")
                _check(_options(commands[key])[name], inner_value, f"{source}: [{key}] {inner}")
                result[key][name] = inner_value
            continue
        name = key.replace("-", "_")
        owners = [c for c, command in commands.items() if name in _options(command)]
        if not owners:
            raise ConfigError(f"{source}: unknown setting {key!r}")
        for owner in owners:
            _check(_options(commands[owner])[name], value, f"{source}: {key}")
            result[owner].setdefault(name, value)
    return result


def _check(option: click.Parameter, value: Any, where: str) -> None:
    """A value of the file is checked as the flag's would be, and blamed on the file."""
    values = value if option.multiple and isinstance(value, list) else [value]
    if option.multiple and not isinstance(value, list):
        raise ConfigError(f"{where}: give a list, e.g. [{_toml(value)}]")
    for one in values:
        if isinstance(one, list | dict) and not option.multiple:
            raise ConfigError(f"{where}: one value, not {_toml(one)}")
        try:
            option.type.convert(one, option, None)
        except click.BadParameter as exc:
            raise ConfigError(f"{where}: {exc.message}") from None
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: {_toml(one)} is not a valid value") from None


def show(commands: dict[str, click.Command], defaults: dict[str, dict[str, Any]]) -> str:
    """The effective settings, as TOML a user can copy into harvester.toml."""
    lines: list[str] = []
    for name, command in commands.items():
        options = _options(command)
        if not options:
            continue
        lines.append(f"[{name}]")
        for option_name, option in options.items():
            if option_name in ("help", "version"):
                continue
            configured = option_name in defaults.get(name, {})
            value = defaults[name][option_name] if configured else option.default
            note = "" if configured else ("  # default" if value is not None else "  # unset")
            lines.append(f"{option_name.replace('_', '-')} = {_toml(value)}{note}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _toml(value: Any) -> str:
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


class FiniteFloat(click.FloatRange):
    """A float flag that refuses nan and inf: no comparison holds for nan, so a range
    check lets it through, and an infinite delay or timeout never ends."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number
