"""Reading TOML files with line numbers for the tables and keys that problems point at."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from campaign.errors import LocatedError

_ERROR_LINE = re.compile(r"\(at line (\d+), column \d+\)")


class TomlFile:
    """A parsed TOML file that can say on which line a table or a key starts."""

    def __init__(self, path: Path, display: str) -> None:
        self.path = path
        self.display = display
        try:
            self.text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise LocatedError(
                display, 0, f"file not found (looked for {path.absolute()})"
            ) from None
        except IsADirectoryError:
            raise LocatedError(display, 0, "is a folder, not a file") from None
        except OSError as exc:
            raise LocatedError(display, 0, f"cannot read the file: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            line = path.read_bytes()[: exc.start].count(b"\n") + 1
            raise LocatedError(display, line, f"not valid UTF-8 ({exc.reason})") from None
        try:
            self.data: dict[str, Any] = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            match = _ERROR_LINE.search(str(exc))
            line = int(match.group(1)) if match else 0
            message = _ERROR_LINE.sub("", str(exc)).strip()
            raise LocatedError(display, line, f"TOML syntax: {message}") from None
        # Only LF ends a TOML line; str.splitlines() would also split at U+2028 and friends
        # inside a string and put every later line number out.
        self._lines = self.text.split("\n")

    def table_line(self, *names: str) -> int:
        """The line of the ``[a.b]`` header for the table at ``names`` (0 when not found)."""
        parts = [rf"(?:{re.escape(n)}|\"{re.escape(n)}\"|'{re.escape(n)}')" for n in names]
        pattern = re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(parts) + r"\s*\]")
        for number, text in enumerate(self._lines, 1):
            if pattern.match(text):
                return number
        # A table defined only through its sub-tables ([a.b] defines a): the first of them.
        prefix = re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(parts) + r"\s*\.")
        for number, text in enumerate(self._lines, 1):
            if prefix.match(text):
                return number
        return 0

    def key_line(self, key: str, *table: str) -> int:
        """The line where ``key = ...`` is set inside ``table`` (the table's line if not found)."""
        start = self.table_line(*table) if table else 0
        pattern = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\")\s*=")
        for number in range(start + 1, len(self._lines) + 1):
            text = self._lines[number - 1]
            if number > start + 1 and text.lstrip().startswith("[") and table:
                break
            if pattern.match(text):
                return number
        return start or 1
