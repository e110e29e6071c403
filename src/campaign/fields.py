"""The data a template reads by name: a recipient's fields, the settings, the citations.

``recipient.values`` is the CSV's ``values`` column, never the dict method of that name; a
computed field that does not apply to a recipient is an error, not a blank; and a blank CSV
value knows its column, so printing it can be an error naming the column.
"""

from __future__ import annotations

from typing import Any


class Record(dict[str, Any]):
    """A dict whose names are all data: attribute access reads keys, never dict methods.

    ``absent`` gives, for a computed field that does not apply, why; with ``blanks`` a blank
    string value is read as a Blank that remembers its column.
    """

    __slots__ = ("absent", "blanks", "label")

    def __init__(self, values: Any = (), label: str = "recipient", blanks: bool = False) -> None:
        super().__init__(values)
        self.label = label
        self.blanks = blanks
        self.absent: dict[str, str] = {}

    def __reduce__(self) -> Any:  # for --jobs: a Record crosses to the parent process
        return (_rebuild, (dict(self), self.label, self.blanks, self.absent))


def _rebuild(values: dict[str, Any], label: str, blanks: bool, absent: dict[str, str]) -> Record:
    record = Record(values, label, blanks)
    record.absent = absent
    return record


class Blank(str):
    """A blank CSV value as a template reads it: empty or spaces, and from which column."""

    column: str

    def __new__(cls, value: str, column: str) -> Blank:
        made = super().__new__(cls, value)
        made.column = column
        return made


def is_blank(value: str) -> bool:
    return not value or value.isspace()


__all__ = ["Blank", "Record", "is_blank"]
