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
from campaign.safety import invisible_problem

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
    # The columns a record ends before (fewer fields than the header): read as empty, and an
    # error only for a row that needs one of them (see pipeline.Job.prepare).
    missing: tuple[str, ...] = ()


def _decode_error_line(path: Path, encoding: str) -> int:
    """The first line of ``path`` that does not decode (only looked for once decoding failed)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    number = 1
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                decoder.decode(raw)
            except UnicodeError:  # UnicodeDecodeError, or a codec's own complaint (no BOM, ...)
                return number
    return number  # the file ends inside a character


def _not_found(path: Path, campaign_dir: Path | None) -> str:
    """Where the file was looked for, and the likely fix when a relative path missed."""
    message = f"recipients file not found (looked for {path.absolute()}; pass --recipients FILE"
    if not path.is_absolute():
        message += ", a path from the current directory"
        beside = campaign_dir / path if campaign_dir is not None else None
        if beside is not None and beside.is_file() and beside.absolute() != path.absolute():
            message += f": did you mean --recipients {beside}?"
    return message + ")"


def _is_utf8(encoding: str) -> bool:
    return encoding.lower().replace("_", "-") in ("utf-8", "utf8")


class RecipientsFile:
    """A recipients CSV: its header, read at once, and its rows, streamed."""

    def __init__(
        self, path: Path, display: str, encoding: str = "utf-8", campaign_dir: Path | None = None
    ) -> None:
        self.path = path
        self.display = display
        self.encoding = encoding
        self.problems = Problems()
        try:
            info = codecs.lookup(encoding)
        except (LookupError, ValueError):
            raise CampaignError(f"unknown encoding {encoding!r} given to --encoding") from None
        if not getattr(info, "_is_text_encoding", True):
            # base64, rot13, zlib, ...: codecs that turn bytes into bytes, not text
            raise CampaignError(
                f"{encoding!r} given to --encoding is not a text encoding: give the one the "
                "file was saved in, e.g. utf-8, cp1252 or utf-16"
            )
        if not path.is_file():
            if path.exists():
                raise LocatedError(
                    display,
                    0,
                    "not a file: pass the recipients CSV as --recipients FILE",
                )
            raise LocatedError(display, 0, _not_found(path, campaign_dir))
        try:
            with path.open("rb") as handle:
                head = handle.read(4)
        except OSError as exc:
            raise LocatedError(display, 0, f"cannot read the file: {exc.strerror}") from None
        if _is_utf8(encoding) and head[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise LocatedError(
                display,
                1,
                "the file is UTF-16 encoded, not UTF-8: save it as UTF-8 or pass --encoding utf-16",
            )
        if _is_utf8(encoding) and len(head) >= 2 and (head[0] == 0) != (head[1] == 0):
            # A CSV's first character is never NUL: one of each pair of bytes being NUL is
            # UTF-16 text saved without a byte-order mark.
            order = "le" if head[1] == 0 else "be"
            raise LocatedError(
                display,
                1,
                "the file looks UTF-16 encoded (without a byte-order mark), not UTF-8: "
                f"save it as UTF-8 or pass --encoding utf-16-{order}",
            )
        self.delimiter = ","
        self.header: list[str] = []
        self.header_line = 1
        self._first_data_line = 1
        self._read_header()

    def _open(self) -> io.TextIOWrapper:
        encoding = self.encoding
        if _is_utf8(encoding):
            encoding = "utf-8-sig"
        return open(self.path, encoding=encoding, newline="")

    def _decode_failure(self, exc: UnicodeError) -> LocatedError:
        line = _decode_error_line(self.path, self.encoding)
        reason = exc.reason if isinstance(exc, UnicodeDecodeError) else str(exc)
        return LocatedError(
            self.display,
            line,
            f"cannot decode the file as {self.encoding} ({reason}): save it as UTF-8, "
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
        except UnicodeError as exc:
            raise self._decode_failure(exc) from None
        except OSError as exc:
            raise LocatedError(self.display, 0, f"cannot read the file: {exc.strerror}") from None
        if match and (self.delimiter in '"\r\n ' or self.delimiter.isalnum()):
            raise LocatedError(
                self.display,
                1,
                f"'sep={self.delimiter}' names a character that cannot separate columns",
            )
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
        for index, name in enumerate(names, 1):
            clean = name.strip()
            if reason := invisible_problem(clean):
                self.problems.error(
                    self.display, line, f"column {index}'s name {clean!r} {reason}: retype it"
                )
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

    def _merged(self, fields: list[str], width: int) -> int:
        """How many delimiters a multi-line field holds when that is a whole record's worth.

        A stray quote on one row and another on a later row make one quoted field of the text
        between them, and the record still has the right number of fields: rows silently merged.
        A genuine multi-line cell (an address block) holds a few delimiters, not a row's worth.
        """
        if width < 3:
            return 0
        for value in fields:
            if "\n" in value or "\r" in value:
                count = value.count(self.delimiter)
                if count >= width - 1:
                    return count
        return 0

    def rows(self) -> Iterator[Row]:
        """Every data record, with structural problems (field counts, quoting) on the row."""
        csv.field_size_limit(FIELD_LIMIT)
        width = len(self.header)
        handle = self._open()
        try:
            lines = iter(handle)
            skipped = self._skip_lines + 1  # a sep= line, and the header
            for _ in range(skipped):
                next(lines)
            reader = csv.reader(lines, delimiter=self.delimiter, strict=True)
            number = 0
            while True:
                # reader.line_num: how many physical lines the reader has taken so far.
                start = skipped + reader.line_num + 1
                try:
                    fields = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    number += 1
                    end = skipped + reader.line_num
                    message = str(exc)
                    if "field larger than field limit" in message:
                        message = f"a field is longer than {FIELD_LIMIT} characters"
                    elif "unexpected end of data" in message or "EOF" in message:
                        message = f"a quoted field opened on line {start} is never closed"
                        message += " (a '\"' is missing)"
                    if end > start:
                        message += f"; lines {start}-{end} were read as this one record"
                    yield Row(number, start, {}, [f"unreadable record: {message}"])
                    if end < start:  # reader consumed nothing: stop, not loop
                        break
                    continue
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue  # a blank line is not a record
                number += 1
                row = Row(number, start, {})
                end = skipped + reader.line_num
                if end > start and (merged := self._merged(fields, width)):
                    row.errors.append(
                        f"unreadable record: a quoted field runs from line {start} to line {end} "
                        f"and holds {merged} '{self.delimiter}' characters: it looks like a "
                        "'\"' is missing or stray, joining rows into one; check the quotes"
                    )
                    yield row
                    continue
                if len(fields) > width:
                    row.errors.append(
                        f"has {len(fields)} fields but the header has {width} (an unquoted comma?)"
                    )
                row.values = dict(zip(self.header, fields, strict=False))
                if len(fields) < width:
                    row.missing = tuple(self.header[len(fields) :])
                    row.values.update(dict.fromkeys(row.missing, ""))
                yield row
        except UnicodeError as exc:
            raise self._decode_failure(exc) from None
        finally:
            handle.close()
