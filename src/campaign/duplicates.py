"""Finding rows that repeat an address, in flat memory however long the list."""

from __future__ import annotations

import itertools
from array import array
from dataclasses import dataclass

from campaign.recipients import Row


@dataclass(frozen=True)
class Duplicate:
    """A row whose address an earlier row (on line ``first``) already has."""

    row: Row
    first: int

    @property
    def message(self) -> str:
        raw = self.row.values.get("email", "")
        return f"column 'email' {raw!r} duplicates the address on line {self.first}"


_HASH_MASK = (1 << 64) - 1


class Seen:
    """Each row's normalized address as a 64-bit hash with its line: 16 bytes a row.

    Memory stays flat however long the list: no address strings are kept.
    """

    def __init__(self) -> None:
        self.hashes: array[int] = array("Q")
        self.lines: array[int] = array("q")

    def add(self, key: str, line: int) -> None:
        """Note a row's address key (addresses.duplicate_key); an empty key is no address."""
        if key:
            # Python's own 64-bit string hash: the same in every process of a run (--jobs
            # forks), and a collision only costs a second look at the rows concerned.
            self.hashes.append(hash(key) & _HASH_MASK)
            self.lines.append(line)

    def extend(self, other: Seen) -> None:
        self.hashes.extend(other.hashes)
        self.lines.extend(other.lines)

    def collisions(self) -> set[int]:
        """Lines whose hash another row shares: the only rows that may be duplicates."""
        buckets = [array("Q") for _ in range(16)]
        for h in self.hashes:  # sixteen small sorts instead of one large list: flat memory
            buckets[h >> 60].append(h)
        repeated: set[int] = set()
        for bucket in buckets:
            ordered = sorted(bucket)
            repeated.update(a for a, b in itertools.pairwise(ordered) if a == b)
        if not repeated:
            return set()
        return {line for h, line in zip(self.hashes, self.lines, strict=True) if h in repeated}
