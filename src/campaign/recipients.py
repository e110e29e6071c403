"""Reading recipients.csv: one Row per record, with the line it starts on and its problems."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from campaign.errors import CampaignError, LocatedError, Problems

REQUIRED_COLUMNS = ("email", "audience", "title", "first_name", "last_name")
FIELD_LIMIT = 128 * 1024
_SEP_LINE = re.compile(r"^sep=(.)\r?\n?$")


@dataclass
class Row:
    """One data record. ``number`` is 1-based among data rows; ``line`` is where it starts."""

    number: int
    line: int
    values: dict[str, str]
    errors: list[str] = field(default_factory=list)


class _LineCounter:
    """Feeds lines to csv.reader while remembering how many physical lines it has read."""

    def __init__(self, lines: Iterator[str], first: int) -> None:
        self._lines = lines
        self.count = first

    def __iter__(self) -> _LineCounter:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.count += 1
        return line


def _decode_error_line(path: Path, encoding: str) -> int:
    """The first line of ``path`` that does not decode (only looked for once decoding failed)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                decoder.decode(raw)
            except UnicodeDecodeError:
                return number
    return 0


class RecipientsFile:
    """A recipients CSV: its header, read at once, and its rows, streamed."""

    def __init__(self, path: Path, display: str, encoding: str = "utf-8") -> None:
        self.path = path
        self.display = display
        self.encoding = encoding
        self.problems = Problems()
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise CampaignError(f"unknown encoding '{encoding}' given to --encoding") from None
        if not path.is_file():
            raise LocatedError(display, 0, "recipients file not found (pass --recipients FILE)")
        head = path.read_bytes()[:4]
        if encoding.lower().replace("_", "-") in ("utf-8", "utf8") and head[:2] in (
            b"\xff\xfe",
            b"\xfe\xff",
        ):
            raise LocatedError(
                display,
                1,
                "the file is UTF-16 encoded, not UTF-8: save it as UTF-8 or pass --encoding utf-16",
            )
        self.delimiter = ","
        self.header: list[str] = []
        self.header_line = 1
        self._first_data_line = 1
        self._read_header()

    def _open(self) -> io.TextIOWrapper:
        encoding = self.encoding
        if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
            encoding = "utf-8-sig"
        return open(self.path, encoding=encoding, newline="")

    def _decode_failure(self, exc: UnicodeDecodeError) -> LocatedError:
        line = _decode_error_line(self.path, self.encoding)
        return LocatedError(
            self.display,
            line,
            f"cannot decode the file as {self.encoding} ({exc.reason}): save it as UTF-8, "
            "or pass the encoding it was saved in, e.g. --encoding cp1252",
        )

    def _read_header(self) -> None:
        try:
            with self._open() as handle:
                first = handle.readline()
                line = 1
                match = _SEP_LINE.match(first)
                if match:
                    self.delimiter = match.group(1)
                    first = handle.readline()
                    line = 2
                while first and not first.strip():
                    first = handle.readline()
                    line += 1
        except UnicodeDecodeError as exc:
            raise self._decode_failure(exc) from None
        if not first:
            raise LocatedError(
                self.display,
                1,
                "the file is empty: the first line must name the columns "
                f"({', '.join(REQUIRED_COLUMNS)})",
            )
        self.header_line = line
        self._skip_lines = line - 1
        try:
            names = next(csv.reader([first], delimiter=self.delimiter, strict=True))
        except csv.Error as exc:
            raise LocatedError(self.display, line, f"unreadable header ({exc})") from None
        stripped = []
        for name in names:
            clean = name.strip()
            if clean != name:
                self.problems.warning(
                    self.display,
                    line,
                    f"column name {name!r} has surrounding spaces; read as {clean!r}",
                )
            stripped.append(clean)
        seen: set[str] = set()
        for index, name in enumerate(stripped, 1):
            if not name:
                self.problems.error(self.display, line, f"column {index} has no name")
            elif name in seen:
                self.problems.error(
                    self.display, line, f"column '{name}' appears twice: rename or remove one"
                )
            seen.add(name)
        self.header = stripped

    def estimate_rows(self) -> int:
        """About how many records there are (newlines less the header), for a progress bar."""
        count = 0
        with self.path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                count += chunk.count(b"\n")
        return max(0, count - self.header_line)

    def missing_columns(self, required: tuple[str, ...]) -> list[str]:
        return [name for name in required if name not in self.header]

    def rows(self) -> Iterator[Row]:
        """Every data record, with structural problems (field counts, quoting) on the row."""
        csv.field_size_limit(FIELD_LIMIT)
        width = len(self.header)
        handle = self._open()
        try:
            counter = _LineCounter(iter(handle), 0)
            for _ in range(self._skip_lines + 1):
                next(counter)
            reader = csv.reader(counter, delimiter=self.delimiter, strict=True)
            number = 0
            while True:
                start = counter.count + 1
                try:
                    fields = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    number += 1
                    message = str(exc)
                    if "field larger than field limit" in message:
                        message = f"a field is longer than {FIELD_LIMIT} characters"
                    elif "unexpected end of data" in message or "EOF" in message:
                        message = "a quoted field is never closed (a '\"' is missing)"
                    yield Row(number, start, {}, [f"unreadable record: {message}"])
                    if counter.count < start:  # reader consumed nothing: stop, not loop
                        break
                    continue
                if not fields:
                    continue  # a blank line is not a record
                number += 1
                row = Row(number, start, {})
                if len(fields) != width:
                    row.errors.append(
                        f"has {len(fields)} fields but the header has {width}"
                        + (" (an unquoted comma?)" if len(fields) > width else "")
                    )
                row.values = dict(zip(self.header, fields, strict=False))
                yield row
        except UnicodeDecodeError as exc:
            raise self._decode_failure(exc) from None
        finally:
            handle.close()
