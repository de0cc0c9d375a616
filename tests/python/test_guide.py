"""Every ```python block of the user guide (docs/guide/*.md) runs.

Blocks of one page run in order in one namespace (a page may build on its earlier blocks),
with the repository root as working directory. A block right after a `<!-- no-run -->` line
is skipped (it needs a cluster or data that is not in the repository).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "guide"
PAGES = sorted(GUIDE.glob("*.md")) if GUIDE.is_dir() else []
BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(line number, code) of each runnable python block."""
    blocks = []
    for match in BLOCK.finditer(text):
        before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        if before == "<!-- no-run -->":
            continue
        blocks.append((text.count("\n", 0, match.start()) + 1, match.group(1)))
    return blocks


def test_the_guide_has_pages():
    if not GUIDE.is_dir():
        pytest.skip("docs/guide is not next to these tests")
    names = {page.name for page in PAGES}
    assert {"index.md", "data-model.md", "analyses.md", "drop-in.md", "scale-out.md",
            "cpp.md"} <= names


def test_no_run_marker_skips_a_block():
    text = "a\n\n```python\nx = 1\n```\n<!-- no-run -->\n```python\nraise SystemExit\n```\n"
    assert [code for _, code in python_blocks(text)] == ["x = 1\n"]


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_guide_snippets_run(page, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(ROOT)
    namespace: dict = {"__name__": f"guide_{page.stem}"}
    for line, code in python_blocks(page.read_text(encoding="utf-8")):
        try:
            exec(compile(code, f"{page.relative_to(ROOT)}:{line}", "exec"), namespace)
        except Exception as error:  # noqa: BLE001 - report which block failed
            pytest.fail(f"{page.name}, block at line {line}: {type(error).__name__}: {error}")
