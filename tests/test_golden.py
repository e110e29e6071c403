"""Golden letters: each sample letter variant, as a reviewer reads it.

Regenerate on purpose with ``UPDATE_GOLDEN=1 pytest tests/test_golden.py`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import DATE, Campaign, parse, text_of

GOLDEN = Path(__file__).parent / "golden"
# One recipient per variant: Senate, House (districted and at large), each kind of DHS official.
VARIANTS = {
    "congress-senate.txt": 4,
    "congress-house.txt": 5,
    "congress-house-at-large.txt": 6,
    "dhs-secretary.txt": 10,
    "dhs-acting-director.txt": 11,
    "dhs-inspector-general.txt": 12,
    "dhs-secretary.html": 10,
}


def rendered(sample: Campaign, name: str, row: int) -> str:
    [path] = (sample.root / "out").glob(f"{row:06d}-*.eml")
    message = parse(path)
    if name.endswith(".html"):
        part = message.get_body(preferencelist=("html",))
        assert part is not None
        return str(part.get_content())
    return f"Subject: {message['Subject']}\n\n{text_of(message)}"


@pytest.mark.parametrize(("name", "row"), VARIANTS.items())
def test_letter_matches_golden(sample: Campaign, name: str, row: int) -> None:
    """The exported letter is exactly the reviewed golden copy."""
    assert sample.run("export", "--date", DATE).exit_code == 0
    actual = rendered(sample, name, row)
    golden = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(actual, encoding="utf-8")
    assert actual == golden.read_text(encoding="utf-8")
