"""Checking that each quote appears word for word in the source it came from."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

_TYPOGRAPHIC = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00a0": " ",
    }
)
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Whitespace runs become one space; curly quotes and apostrophes become straight ones."""
    return _SPACE.sub(" ", text.translate(_TYPOGRAPHIC)).strip()


def closest_passage(quote: str, source: str) -> str:
    """The run of source words most like the quote, for a message that shows what differs."""
    words = source.split(" ")
    size = max(1, len(quote.split(" ")))
    best, best_ratio = "", -1.0
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(quote)
    for width in range(max(1, size - 2), size + 4):
        for start in range(0, max(1, len(words) - width + 1)):
            window = " ".join(words[start : start + width])
            matcher.set_seq1(window)
            if matcher.real_quick_ratio() <= best_ratio or matcher.quick_ratio() <= best_ratio:
                continue
            ratio = matcher.ratio()
            if ratio > best_ratio:
                best, best_ratio = window, ratio
    return best.strip("\"'")


def quote_problem(text: str, source_path: Path) -> str | None:
    """Why the quote is not verbatim in ``source_path``, or None when it is."""
    try:
        source = normalise(source_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot read source_file {source_path}: {exc}"
    wanted = normalise(text)
    if wanted in source:
        return None
    near = closest_passage(wanted, source)
    return f'text is not in {source_path.name} as written; the closest passage is: "{near}"'
