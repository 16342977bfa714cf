"""The README's promises: its library example runs, its two commands are up front."""

from __future__ import annotations

import re
from pathlib import Path

import harvester

README = Path(__file__).resolve().parent.parent / "README.md"


def test_library_example_runs() -> None:
    text = README.read_text("utf-8")
    library = text[text.index("## Library") :]
    code = re.search(r"```python\n(.*?)```", library, re.S)
    assert code is not None
    namespace: dict[str, object] = {}
    exec(compile(code.group(1), "README.md", "exec"), namespace)
    record = namespace["record"]
    assert isinstance(record, harvester.Record)
    assert record.qa[0].question == "Why does my knee hurt?"
    assert record.qa[0].answered_by == harvester.Person("Jane Roe", "RMT")


def readme_script() -> str:
    """The README's whole-site example, as a user would save it to a file."""
    library = README.read_text("utf-8").split("## Library", 1)[1]
    blocks = re.findall(r"```python\n(.*?)```", library, re.S)
    return next(block for block in blocks if "harvester.harvest(" in block)


def test_readme_opens_with_the_two_commands() -> None:
    head = README.read_text("utf-8")[:800]
    assert "make demo" in head and "make test" in head


def test_settings_table_is_the_model() -> None:
    """Regenerate the table with harvester.settings.reference_table()."""
    from harvester.settings import reference_table

    text = README.read_text("utf-8")
    table = text.split("<!-- settings -->\n", 1)[1].split("<!-- /settings -->", 1)[0]
    assert table == reference_table()
