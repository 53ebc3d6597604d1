"""The README's configuration tables are generated from the declared options and kept current."""

from __future__ import annotations

import re
from pathlib import Path

from logferry import configdoc

ROOT = Path(__file__).resolve().parents[2]


def test_readme_tables_are_the_generated_ones() -> None:
    readme = (ROOT / "README.md").read_text()
    assert configdoc.replace_block(readme, configdoc.render()) == readme, (
        "README.md's configuration tables are stale: python -m logferry.configdoc --write README.md"
    )


def test_every_declared_option_is_in_the_tables() -> None:
    declared = set()
    for path in (ROOT / "shared" / "logferry").rglob("*.py"):
        declared |= set(re.findall(r'\boption\(\s*"([A-Z][A-Z0-9_]+)"', path.read_text()))
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", configdoc.render(), re.M))
    assert declared and declared == documented
