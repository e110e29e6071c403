"""The send journal: one SQLite row per letter, every state change durable before it acts.

A letter is claimed (state ``sending``) in its own transaction before its DATA goes out and
confirmed (``sent``, ``failed``, ``deferred``) in another when the server answers, the way a
mail queue never loses a message. A run that finds a letter still ``sending`` knows the last
run died between DATA and the reply: that letter is ``unknown`` (it may have been delivered).
WAL mode, synchronous=FULL, the schema version in ``PRAGMA user_version``.

State changes go through one writer thread that commits whatever is waiting in one transaction
(a group commit: one fsync for many connections' claims). A claim waits until it is on disk;
an outcome does not: it is on disk with the next commit, and if the process dies first the
letter reads ``unknown`` (after DATA) or stays as it was (before DATA): never a resend of a
letter the server may have taken.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import queue
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
LINGER = 0.05  # seconds an outcome may wait for company before it is committed
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


Statement = tuple[str, tuple[object, ...]]


class JournalFailed(CampaignError):
    """The journal could not be written (a full disk, say): nothing more may be sent."""


class Journal:
    """The journal of one export folder, held by one `send` at a time (an advisory lock)."""

    def __init__(self, folder: Path, *, read_only: bool = False) -> None:
        self.path = folder / JOURNAL
        self._lock = threading.Lock()
        self._lock_fd: int | None = None
        self.writable = not read_only
        if not folder.is_dir():
            raise CampaignError(f"{folder} is not a folder: give the folder an eml export wrote")
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
            last = self.db.execute("SELECT coalesce(max(id), 0) FROM attempts").fetchone()[0]
        except sqlite3.Error as exc:
            self.close()
            raise CampaignError(f"{self.path}: cannot open the send journal ({exc})") from None
        self._attempt_ids = itertools.count(int(last) + 1)
        self._pending: queue.SimpleQueue[tuple[list[Statement], threading.Event | None] | None]
        self._pending = queue.SimpleQueue()
        self._failure: str = ""
        self._writer = threading.Thread(target=self._write_loop, name="journal", daemon=True)
        self._writer.start()

    def _check_version(self) -> int:
        assert self.db is not None
        version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        if version not in (0, SCHEMA_VERSION):
            raise CampaignError(
                f"{self.path} was written by a newer campaign (journal version {version})"
            )
        return version

    def close(self) -> None:
        writer = getattr(self, "_writer", None)
        if writer is not None and writer.is_alive():
            self._pending.put(None)
            writer.join()
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

    def _write_loop(self) -> None:
        """Commit every waiting state change in one transaction, then wake who waits."""
        stop = False
        while not stop:
            first = self._pending.get()
            if first is None:
                break
            batch = [first]
            # Outcomes alone wait a little for a claim to share its fsync (on one connection
            # that halves the syncs); a claim, a flush or a full batch goes at once.
            deadline = time.monotonic() + LINGER
            while not stop:
                waiting = any(done is not None for _, done in batch)
                remaining = 0.0 if waiting else deadline - time.monotonic()
                try:
                    item = self._pending.get(timeout=remaining) if remaining > 0 else None
                    if item is None and remaining <= 0:
                        item = self._pending.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            if not self._failure:
                try:
                    with self._transaction() as db:
                        for statements, _ in batch:
                            for sql, params in statements:
                                db.execute(sql, params)
                except sqlite3.Error as exc:
                    self._failure = f"cannot write the send journal {self.path}: {exc}"
            for _, done in batch:
                if done is not None:
                    done.set()

    def _submit(self, statements: list[Statement], wait: bool) -> None:
        done = threading.Event() if wait else None
        self._pending.put((statements, done))
        if done is not None:
            done.wait()
        if self._failure:
            raise JournalFailed(self._failure)

    def flush(self) -> None:
        """Wait until every state change submitted so far is on disk."""
        if self.writable and self.db is not None:
            self._submit([], wait=True)

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
        """Mark a letter as being sent, on disk, before its DATA goes out; the attempt's id."""
        attempt = next(self._attempt_ids)
        self._submit(
            [
                (
                    "UPDATE letters SET state = 'sending', attempts = attempts + 1, updated = ?, "
                    "sha256 = ? WHERE message_id = ?",
                    (_stamp(now), sha256, message_id),
                ),
                (
                    "INSERT INTO attempts (id, message_id, started) VALUES (?, ?, ?)",
                    (attempt, message_id, now),
                ),
            ],
            wait=True,
        )
        return attempt

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
        before DATA (never claimed, it still counts against the rate limit). Not waited for."""
        assert state in STATES
        statements: list[Statement] = [
            (
                "UPDATE letters SET state = ?, reply = ?, updated = ? WHERE message_id = ?",
                (state, reply, _stamp(now), message_id),
            )
        ]
        if attempt:
            statements.append(
                ("UPDATE attempts SET state = ?, reply = ? WHERE id = ?", (state, reply, attempt))
            )
        elif started is not None:
            statements += [
                (
                    "UPDATE letters SET attempts = attempts + 1 WHERE message_id = ?",
                    (message_id,),
                ),
                (
                    "INSERT INTO attempts (id, message_id, started, state, reply) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (next(self._attempt_ids), message_id, started, state, reply),
                ),
            ]
        self._submit(statements, wait=False)


def now() -> float:
    return time.time()
