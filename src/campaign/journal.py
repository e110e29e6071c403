"""The send journal: one SQLite row per letter, every state change durable before it acts.

A letter is claimed (state ``sending``) in its own transaction before its DATA goes out and
confirmed (``sent``, ``failed``, ``deferred``) in another when the server answers, the way a
mail queue never loses a message. A run that finds a letter still ``sending`` knows the last
run died between DATA and the reply: that letter is ``unknown`` (it may have been delivered).
WAL mode, synchronous=FULL, the schema version in ``PRAGMA user_version``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from campaign.errors import CampaignError
from campaign.exportseal import SealedLetter

JOURNAL = ".campaign-send.sqlite"
LOCK = ".campaign-send.lock"
SCHEMA_VERSION = 1
STATES = ("pending", "sending", "sent", "failed", "deferred", "unknown")
_SCHEMA = """
CREATE TABLE letters (
    message_id TEXT PRIMARY KEY,
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    recipient TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'deferred',
                                         'unknown')),
    attempts INTEGER NOT NULL DEFAULT 0,
    updated TEXT NOT NULL DEFAULT '',
    reply TEXT NOT NULL DEFAULT ''
);
CREATE TABLE attempts (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES letters (message_id),
    started REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'sending',
    reply TEXT NOT NULL DEFAULT ''
);
CREATE INDEX attempts_started ON attempts (started);
"""


@dataclass(frozen=True)
class Entry:
    message_id: str
    file: str
    sha256: str
    recipient: str
    state: str
    attempts: int
    updated: str
    reply: str


def _stamp(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


class Journal:
    """The journal of one export folder, held by one `send` at a time (an advisory lock)."""

    def __init__(self, folder: Path, *, read_only: bool = False) -> None:
        self.path = folder / JOURNAL
        self._lock = threading.Lock()
        self._lock_fd: int | None = None
        self.writable = not read_only
        if read_only:
            if not self.path.exists():
                self.db: sqlite3.Connection | None = None
                return
            uri = f"file:{self.path}?mode=ro"
            self.db = sqlite3.connect(uri, uri=True, isolation_level=None)
            self._check_version()
            return
        try:
            self._lock_fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CampaignError(
                f"another `campaign send` is using {folder}: wait for it to finish"
            ) from None
        except OSError as exc:
            raise CampaignError(f"cannot write the journal in {folder}: {exc.strerror}") from None
        try:
            self.db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30
            )
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            version = self._check_version()
            if version == 0:
                # executescript() commits first; the whole schema is one transaction of its own.
                self.db.executescript(
                    f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
                )
        except sqlite3.Error as exc:
            self.close()
            raise CampaignError(f"{self.path}: cannot open the send journal ({exc})") from None

    def _check_version(self) -> int:
        assert self.db is not None
        version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        if version not in (0, SCHEMA_VERSION):
            raise CampaignError(
                f"{self.path} was written by a newer campaign (journal version {version})"
            )
        return version

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        assert self.db is not None
        with self._lock:
            if self.db.in_transaction:
                yield self.db
                return
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    # -- reading ------------------------------------------------------------------------------

    def entries(self) -> dict[str, Entry]:
        if self.db is None:
            return {}
        with self._lock:
            rows = self.db.execute(
                "SELECT message_id, file, sha256, recipient, state, attempts, updated, reply "
                "FROM letters"
            ).fetchall()
        return {row[0]: Entry(*row) for row in rows}

    def recent_starts(self, since: float) -> list[float]:
        """When the attempts since ``since`` began (for a rate limit held across runs)."""
        if self.db is None:
            return []
        with self._lock:
            rows = self.db.execute(
                "SELECT started FROM attempts WHERE started >= ? ORDER BY started", (since,)
            ).fetchall()
        return [float(r[0]) for r in rows]

    # -- state changes, each its own transaction ----------------------------------------------

    def begin_run(self, letters: Iterable[SealedLetter], now: float) -> int:
        """Add the export's letters; a letter a killed run left ``sending`` becomes ``unknown``.

        Returns how many letters were found ``sending``.
        """
        with self._transaction() as db:
            stuck = db.execute(
                "UPDATE letters SET state = 'unknown', updated = ?, "
                "reply = 'interrupted after DATA, before the reply: may have been delivered' "
                "WHERE state = 'sending'",
                (_stamp(now),),
            ).rowcount
            db.execute(
                "UPDATE attempts SET state = 'unknown', reply = 'interrupted' "
                "WHERE state = 'sending'"
            )
            db.executemany(
                "INSERT INTO letters (message_id, file, sha256, recipient, state, updated) "
                "VALUES (?, ?, ?, ?, 'pending', ?) ON CONFLICT (message_id) DO UPDATE SET "
                "file = excluded.file, sha256 = excluded.sha256, "
                "recipient = excluded.recipient WHERE state IN ('pending', 'deferred')",
                ((s.message_id, s.file, s.sha256, s.to, _stamp(now)) for s in letters),
            )
        return int(stuck)

    def claim(self, message_id: str, sha256: str, now: float) -> int:
        """Mark a letter as being sent, durably, before its DATA goes out; the attempt's id."""
        with self._transaction() as db:
            db.execute(
                "UPDATE letters SET state = 'sending', attempts = attempts + 1, updated = ?, "
                "sha256 = ? WHERE message_id = ?",
                (_stamp(now), sha256, message_id),
            )
            cursor = db.execute(
                "INSERT INTO attempts (message_id, started) VALUES (?, ?)", (message_id, now)
            )
            return int(cursor.lastrowid or 0)

    def record(
        self,
        message_id: str,
        state: str,
        reply: str,
        now: float,
        attempt: int = 0,
        started: float | None = None,
    ) -> None:
        """The outcome of attempt ``attempt``; or, with ``started``, of an attempt that ended
        before DATA (never claimed, it still counts against the rate limit)."""
        assert state in STATES
        with self._transaction() as db:
            db.execute(
                "UPDATE letters SET state = ?, reply = ?, updated = ? WHERE message_id = ?",
                (state, reply, _stamp(now), message_id),
            )
            if attempt:
                db.execute(
                    "UPDATE attempts SET state = ?, reply = ? WHERE id = ?",
                    (state, reply, attempt),
                )
            elif started is not None:
                db.execute(
                    "UPDATE letters SET attempts = attempts + 1 WHERE message_id = ?",
                    (message_id,),
                )
                db.execute(
                    "INSERT INTO attempts (message_id, started, state, reply) VALUES (?, ?, ?, ?)",
                    (message_id, started, state, reply),
                )


def now() -> float:
    return time.time()
