"""Checking that each quote appears word for word in the source it came from."""

from __future__ import annotations

import difflib
import os
import re
import stat
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


# Punctuation around a word that does not make it another word when lining words up.
_EDGE = "\"'.,;:!?()[]{}-\u2013\u2014\u2026"
_CONTEXT = 1  # words of agreement shown either side of a difference
_SHOWN = 5  # differences listed before "and N more"


def _key(word: str) -> str:
    return normalise(word).strip(_EDGE).casefold()


def _snippet(words: list[str], start: int, end: int, marked: tuple[int, int]) -> str:
    """Words ``start:end`` with ``marked`` (a sub-range) in «», '...' where the text goes on."""
    low, high = marked
    parts = words[start:low] + (["«" + " ".join(words[low:high]) + "»"] if high > low else [])
    parts += words[high:end]
    text = " ".join(parts)
    before = "... " if start > 0 else ""
    after = " ..." if end < len(words) else ""
    return f'"{before}{text}{after}"'


def differences(quote: str, source: str) -> list[str]:
    """Where ``quote`` departs from the passage of ``source`` it lines up with, word by word.

    Each difference reads '"... the «data» ..." where the source has "... the «information»
    ..."': the quote's words as written, the source's as printed there (typographic quotes
    and all), with a word of context either side. Words are compared as check compares the
    whole quote (whitespace, and straight versus typographic quote marks, aside); the first
    and last word of the quote may be part of a longer source word, as a quote may start or
    stop inside punctuation.
    """
    said = quote.split()
    printed = source.split()
    said_keys = [_key(w) for w in said]
    printed_keys = [_key(w) for w in printed]
    matcher = difflib.SequenceMatcher(None, printed_keys, said_keys, autojunk=False)
    anchor = matcher.find_longest_match(0, len(printed_keys), 0, len(said_keys))
    if anchor.size == 0:
        return []
    offset = anchor.a - anchor.b
    low = max(0, offset - 3)
    high = min(len(printed), offset + len(said) + 3)
    window = difflib.SequenceMatcher(None, printed_keys[low:high], said_keys, autojunk=False)
    opcodes = window.get_opcodes()
    # Source words before the quote's first word and after its last are not part of it.
    while opcodes and opcodes[0][0] == "delete":
        opcodes.pop(0)
    while opcodes and opcodes[-1][0] == "delete":
        opcodes.pop()
    if not opcodes:
        return []
    # A replacement at either end takes no more source words than the quote has there.
    tag, i1, i2, j1, j2 = opcodes[0]
    if tag == "replace" and i2 - i1 > j2 - j1:
        opcodes[0] = (tag, i2 - (j2 - j1), i2, j1, j2)
    tag, i1, i2, j1, j2 = opcodes[-1]
    if tag == "replace" and i2 - i1 > j2 - j1:
        opcodes[-1] = (tag, i1, i1 + (j2 - j1), j1, j2)
    found: list[tuple[int, int, int, int]] = []  # source i1:i2 (in printed), quote j1:j2
    for tag, i1, i2, j1, j2 in opcodes:
        i1, i2 = i1 + low, i2 + low
        if tag != "equal":
            found.append((i1, i2, j1, j2))
            continue
        for n in range(i2 - i1):
            a, b = normalise(printed[i1 + n]), normalise(said[j1 + n])
            if a == b:
                continue
            if j1 + n == 0 and a.endswith(b) and len(said) > 1:
                continue
            if j1 + n == len(said) - 1 and a.startswith(b) and len(said) > 1:
                continue
            found.append((i1 + n, i1 + n + 1, j1 + n, j1 + n + 1))
    merged: list[tuple[int, int, int, int]] = []
    for i1, i2, j1, j2 in found:  # differences side by side read as one
        if merged and merged[-1][1] == i1 and merged[-1][3] == j1:
            merged[-1] = (merged[-1][0], i2, merged[-1][2], j2)
        else:
            merged.append((i1, i2, j1, j2))
    described = []
    for i1, i2, j1, j2 in merged:
        quoted = _snippet(said, max(0, j1 - _CONTEXT), min(len(said), j2 + _CONTEXT), (j1, j2))
        original = _snippet(
            printed, max(0, i1 - _CONTEXT), min(len(printed), i2 + _CONTEXT), (i1, i2)
        )
        described.append(f"{quoted} where the source has {original}")
    return described


# A source is an article or a report saved as text; its passages are shown in messages, so
# nothing else (a device, /proc's files of the running process, a huge file) is read.
_SOURCE_LIMIT = 50_000_000
_SYSTEM_TREES = ("/proc", "/sys", "/dev", "/run")


def _source_file_problem(path: Path) -> str | None:
    real = os.path.realpath(path)
    try:
        found = os.stat(real)
    except OSError as exc:
        return f"cannot read source_file {path}: {exc.strerror}"
    if not stat.S_ISREG(found.st_mode) or any(
        real == tree or real.startswith(tree + "/") for tree in _SYSTEM_TREES
    ):
        return f"source_file {path} is not a text file (a folder, a device or a system file)"
    if found.st_size == 0:
        return f"source_file {path} is empty"
    if found.st_size > _SOURCE_LIMIT:
        return f"source_file {path} is over {_SOURCE_LIMIT:,} bytes: not an article or a report"
    return None


def quote_problem(text: str, source_path: Path) -> str | None:
    """Why the quote is not verbatim in ``source_path``, or None when it is."""
    if reason := _source_file_problem(source_path):
        return reason
    try:
        raw = source_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot read source_file {source_path}: {exc}"
    source = normalise(raw)
    wanted = normalise(text)
    if wanted in source:
        return None
    near = closest_passage(wanted, source)
    message = f'text is not in {source_path.name} as written; the closest passage is: "{near}"'
    found = differences(text, raw)
    if found:
        shown = "; ".join(found[:_SHOWN])
        more = f"; and {len(found) - _SHOWN} more" if len(found) > _SHOWN else ""
        places = f"{len(found)} place{'s' * (len(found) != 1)}"
        message += f"; it differs in {places}: {shown}{more}"
    # The quote and its source are the campaign's text, printed to a terminal: nothing in
    # them may move the cursor or change colours there.
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in message)
