"""Reading TOML files with line numbers for the tables and keys that problems point at."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from campaign.errors import LocatedError

_ERROR_LINE = re.compile(r"\(at line (\d+), column \d+\)")
# Deeper than any campaign's data, and far below what tomllib (and anything that walks the data
# recursively, such as pickle for --jobs or a template) survives: it raises RecursionError at a
# few hundred levels of arrays or inline tables, and dotted keys nest without limit.
MAX_DEPTH = 32
_HUGE_INTEGER = re.compile(r"[0-9][0-9_]{1000,}")


class TomlFile:
    """A parsed TOML file that can say on which line a table or a key starts."""

    def __init__(self, path: Path, display: str) -> None:
        self.path = path
        self.display = display
        try:
            self.text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise LocatedError(display, 0, "file not found") from None
        except IsADirectoryError:
            raise LocatedError(display, 0, "is a folder, not a file") from None
        except OSError as exc:
            raise LocatedError(display, 0, f"cannot read the file: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            line = path.read_bytes()[: exc.start].count(b"\n") + 1
            raise LocatedError(display, line, f"not valid UTF-8 ({exc.reason})") from None
        if self.text.startswith("\ufeff"):
            self.text = self.text[1:]  # a byte-order mark, as some editors on Windows write
        if (deep := too_deep(self.text)) is not None:
            raise LocatedError(
                display,
                deep,
                f"values nested more than {MAX_DEPTH} deep (arrays, inline tables or dotted "
                "keys): no campaign needs that; flatten it",
            )
        try:
            self.data: dict[str, Any] = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            match = _ERROR_LINE.search(str(exc))
            line = int(match.group(1)) if match else 0
            message = _ERROR_LINE.sub("", str(exc)).strip()
            raise LocatedError(display, line, f"TOML syntax: {message}") from None
        except ValueError:
            # int() refuses more than sys.get_int_max_str_digits() digits (4,300 by default).
            line = _huge_integer_line(self.text)
            raise LocatedError(
                display, line, "an integer with thousands of digits: no setting needs one"
            ) from None
        except RecursionError:  # too_deep() should have caught it; never a traceback
            raise LocatedError(display, 0, f"values nested more than {MAX_DEPTH} deep") from None
        # Only LF ends a TOML line; str.splitlines() would also split at U+2028 and friends
        # inside a string and put every later line number out.
        self._lines = self.text.split("\n")
        self._tables: dict[tuple[str, ...], int] | None = None
        self._keys: dict[tuple[tuple[str, ...], ...], int] | None = None

    def table_line(self, *names: str) -> int:
        """The line of the ``[a.b]`` header for the table at ``names`` (0 when not found).

        A table defined only through its sub-tables ([a.b] defines a): the first of them.
        """
        tables, _ = self._index()
        if names in tables:
            return tables[names]
        size = len(names)
        return min((n for path, n in tables.items() if path[:size] == names), default=0)

    def key_line(self, key: str, *table: str) -> int:
        """The line where ``key = ...`` is set inside ``table`` (the table's line if not found)."""
        _, keys = self._index()
        found = [n for (where, path), n in keys.items() if where == table and path[0] == key]
        if found:
            return min(found)
        return self.table_line(*table) if table else 1

    def _index(self) -> tuple[dict[tuple[str, ...], int], dict[tuple[tuple[str, ...], ...], int]]:
        """Where each table header and each key is, read by tomllib itself line by line, so
        that quoted and escaped names ("a\\u200bb") are found as the parser names them."""
        if self._tables is not None and self._keys is not None:
            return self._tables, self._keys
        tables: dict[tuple[str, ...], int] = {}
        keys: dict[tuple[tuple[str, ...], ...], int] = {}
        current: tuple[str, ...] = ()
        open_string = ""
        for number, text in enumerate(self._lines, 1):
            if open_string:  # inside a multi-line string: nothing here is a key
                if text.count(open_string) % 2:
                    open_string = ""
                continue
            stripped = text.strip()
            if stripped.startswith("["):
                path = _parsed_path(stripped)
                if path:
                    current = path
                    tables.setdefault(path, number)
                continue
            equals = _assignment(stripped)
            if equals < 0:
                continue
            path = _parsed_path(stripped[:equals] + "= 0")
            if path:
                keys.setdefault((current, path), number)
            value = stripped[equals + 1 :]
            for quote in ('"""', "'''"):
                if value.count(quote) % 2:
                    open_string = quote
                    break
        self._tables, self._keys = tables, keys
        return tables, keys


def _assignment(text: str) -> int:
    """The index of the '=' that ends a key (outside quotes), or -1."""
    quote = ""
    i = 0
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\" and quote == '"':
                i += 1  # an escaped character, perhaps a quote
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "=":
            return i
        elif char in "#[{":
            return -1
        i += 1
    return -1


def _parsed_path(text: str) -> tuple[str, ...]:
    """The names a one-line header (``[a."b"]``, ``[[c]]``) or ``key = 0`` defines, or ()."""
    try:
        data: Any = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError, RecursionError):
        return ()
    path: list[str] = []
    while isinstance(data, dict) and len(data) == 1:
        name, data = next(iter(data.items()))
        path.append(name)
        if isinstance(data, list) and data:
            data = data[-1]
    return tuple(path)


def _huge_integer_line(text: str) -> int:
    match = _HUGE_INTEGER.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else 0


def too_deep(text: str) -> int | None:
    """The first line where values nest more than MAX_DEPTH deep, or None.

    A lexical scan that skips strings and comments and counts open ``[`` and ``{`` plus the
    dots of the key being defined: enough to refuse what would nest too deep, before tomllib
    recurses into it.
    """
    depth = 0  # open brackets and braces
    dots = 0  # dots in the key on this line, before its '='
    in_key = True  # at the start of a line, before '=': a key or a table header
    line = 1
    i, size = 0, len(text)
    while i < size:
        char = text[i]
        if char in "\"'":
            quote = text[i : i + 3] if text.startswith(char * 3, i) else char
            i += len(quote)
            while i < size and not text.startswith(quote, i):
                if text[i] == "\n":
                    line += 1
                if text[i] == "\\" and quote[0] == '"':
                    i += 1
                i += 1
            i += len(quote)
            continue
        if char == "#":
            end = text.find("\n", i)
            i = size if end < 0 else end
            continue
        if char == "\n":
            line += 1
            dots = 0
            in_key = depth == 0
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth = max(0, depth - 1)
        elif char == "=" and depth == 0:
            in_key = False
        elif char == "." and (in_key or (depth and not text[i - 1 : i].isdigit())):
            # A dot in a key (``a.b = 1``, ``[a.b]``, or a key inside an inline table) nests;
            # the dot of a number in a value (1.5) does not.
            dots += 1
        if depth + dots > MAX_DEPTH:
            return line
        i += 1
    return None
