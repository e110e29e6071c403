"""The send journal: one SQLite row per letter, every state change durable before it acts.

A letter is claimed (state ``sending``) in its own transaction before its DATA goes out and
confirmed (``sent``, ``failed``, ``deferred``) in another when the server answers, the way a
mail queue never loses a message. A run that finds a letter still ``sending`` knows the last
run died between DATA and the reply: that letter is ``unknown`` (it may have been delivered).
WAL mode, synchronous=FULL, the schema version in ``PRAGMA user_version``.

Claims are made a few letters ahead: one durable transaction marks a small batch ``sending``
(each with an attempt row ``claimed``, stamped with the kernel's boot id), and right before a
letter's message goes out its attempt becomes ``sending`` in a commit that is written but not
fsynced. A killed process loses nothing it wrote (the kernel still holds it), so the next run
on the same boot knows exactly which claimed letters never reached DATA and sends them again;
after a reboot (a power loss may have dropped unsynced commits) every claimed letter without an
outcome is ``unknown``. Without a boot id the batch is one letter and every claim is fsynced.

State changes go through one writer thread that commits whatever is waiting in one transaction
(a group commit: one fsync for many connections' claims). A claim waits until it is on disk;
a start mark waits until it is written; an outcome does not wait: if the process dies first
the letter reads ``unknown`` (after DATA) or is sent again (before DATA): never a resend of a
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
CLAIM_AHEAD = 8  # letters one connection claims in one durable transaction
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
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
Submission = tuple[list[Statement], threading.Event | None, bool]  # statements, done, durable


def boot_id() -> str:
    """This boot of the kernel ('' when unknown): unsynced writes survive a killed process,
    not a reboot."""
    try:
        return BOOT_ID.read_text(encoding="ascii").strip()[:64]
    except OSError:
        return ""


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
            try:
                self.db = sqlite3.connect(uri, uri=True, isolation_level=None)
                self._check_version()
            except sqlite3.Error as exc:
                raise CampaignError(
                    f"{self.path}: cannot read the send journal ({exc}); it records which "
                    "letters were sent: restore it from a copy, or send nothing from this folder"
                ) from None
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
        self.boot = boot_id()
        self._synchronous = "FULL"
        self._pending: queue.SimpleQueue[Submission | None] = queue.SimpleQueue()
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
    def _transaction(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction; ``durable``: fsynced at the commit (and with it every commit
        written before), else only written."""
        assert self.db is not None
        with self._lock:
            synchronous = "FULL" if durable else "NORMAL"
            if synchronous != self._synchronous and not self.db.in_transaction:
                self.db.execute(f"PRAGMA synchronous={synchronous}")
                self._synchronous = synchronous
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
                waiting = any(done is not None for _, done, _ in batch)
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
                durable = any(durable for _, _, durable in batch)
                try:
                    with self._transaction(durable) as db:
                        for statements, _, _ in batch:
                            for sql, params in statements:
                                db.execute(sql, params)
                except sqlite3.Error as exc:
                    self._failure = f"cannot write the send journal {self.path}: {exc}"
            for _, done, _ in batch:
                if done is not None:
                    done.set()

    def _submit(self, statements: list[Statement], wait: bool, durable: bool = True) -> None:
        done = threading.Event() if wait else None
        self._pending.put((statements, done, durable))
        if done is not None:
            done.wait()
        if self._failure:
            raise JournalFailed(self._failure)

    def flush(self) -> None:
        """Wait until every state change submitted so far is on disk."""
        if self.writable and self.db is not None:
            self._submit([], wait=True)
            # Commits made at synchronous=NORMAL are written, not yet synced: sync the WAL.
            with contextlib.suppress(FileNotFoundError):
                descriptor = os.open(f"{self.path}-wal", os.O_RDONLY)
                try:
                    os.fsync(descriptor)
                finally:
                    os.close(descriptor)

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
                "SELECT started FROM attempts WHERE started >= ? AND state != 'released' "
                "ORDER BY started",
                (since,),
            ).fetchall()
        return [float(r[0]) for r in rows]

    # -- state changes, each its own transaction ----------------------------------------------

    def begin_run(self, letters: Iterable[SealedLetter], now: float) -> int:
        """Add the export's letters; a letter a killed run left ``sending`` becomes ``unknown``.

        Returns how many letters were found ``sending``.
        """
        with self._transaction() as db:
            if self.boot:  # claimed by a run that died on this boot, never started: not sent
                db.execute(
                    "UPDATE letters SET state = 'pending', attempts = attempts - 1 "
                    "WHERE state = 'sending' AND message_id IN (SELECT message_id FROM attempts "
                    "WHERE state = 'claimed' AND reply = ?)",
                    (self._claim_mark,),
                )
                db.execute(
                    "UPDATE attempts SET state = 'released', reply = 'claimed, never started' "
                    "WHERE state = 'claimed' AND reply = ?",
                    (self._claim_mark,),
                )
            stuck = db.execute(
                "UPDATE letters SET state = 'unknown', updated = ?, "
                "reply = 'interrupted after DATA, before the reply: may have been delivered' "
                "WHERE state = 'sending'",
                (_stamp(now),),
            ).rowcount
            db.execute(
                "UPDATE attempts SET state = 'unknown', reply = 'interrupted' "
                "WHERE state IN ('sending', 'claimed')"
            )
            db.executemany(
                "INSERT INTO letters (message_id, file, sha256, recipient, state, updated) "
                "VALUES (?, ?, ?, ?, 'pending', ?) ON CONFLICT (message_id) DO UPDATE SET "
                "file = excluded.file, sha256 = excluded.sha256, "
                "recipient = excluded.recipient WHERE state IN ('pending', 'deferred')",
                ((s.message_id, s.file, s.sha256, s.to, _stamp(now)) for s in letters),
            )
        return int(stuck)

    @property
    def _claim_mark(self) -> str:
        return f"claimed on boot {self.boot}"

    @property
    def batch(self) -> int:
        """How many letters one connection claims ahead (one when unsynced writes cannot be
        told from lost ones after a crash)."""
        return CLAIM_AHEAD if self.boot else 1

    def claim(self, letters: list[tuple[str, str]], now: float) -> list[int]:
        """Mark letters (Message-ID, SHA-256 of the bytes) as being sent, on disk, in one
        transaction before any of their messages goes out; their attempts' ids."""
        attempts = [next(self._attempt_ids) for _ in letters]
        statements: list[Statement] = []
        for (message_id, sha256), attempt in zip(letters, attempts, strict=True):
            statements += [
                (
                    "UPDATE letters SET state = 'sending', attempts = attempts + 1, updated = ?, "
                    "sha256 = ? WHERE message_id = ?",
                    (_stamp(now), sha256, message_id),
                ),
                (
                    "INSERT INTO attempts (id, message_id, started, state, reply) "
                    "VALUES (?, ?, ?, 'claimed', ?)",
                    (attempt, message_id, now, self._claim_mark),
                ),
            ]
        self._submit(statements, wait=True)
        return attempts

    def start(self, attempt: int, now: float) -> None:
        """Mark a claimed attempt as going out now: written (a killed process keeps it) before
        the message goes; fsynced only when there is no boot id to tell a crash from a reboot."""
        statement = (
            "UPDATE attempts SET state = 'sending', started = ?, reply = '' WHERE id = ?",
            (now, attempt),
        )
        if not self.boot:
            self._submit([statement], wait=True)
            return
        # Written here rather than by the writer thread: no fsync to share, two thread
        # switches saved per letter.
        if not self._failure:
            try:
                with self._transaction(durable=False) as db:
                    db.execute(*statement)
            except sqlite3.Error as exc:
                self._failure = f"cannot write the send journal {self.path}: {exc}"
        if self._failure:
            raise JournalFailed(self._failure)

    def release(self, message_id: str, attempt: int) -> None:
        """A claimed letter this run will not send after all: as it was before, untried."""
        self._submit(
            [
                (
                    "UPDATE letters SET state = 'pending', attempts = attempts - 1 "
                    "WHERE message_id = ? AND state = 'sending'",
                    (message_id,),
                ),
                (
                    "UPDATE attempts SET state = 'released', reply = 'not started' WHERE id = ?",
                    (attempt,),
                ),
            ],
            wait=False,
            durable=False,
        )

    def record(self, message_id: str, state: str, reply: str, now: float, attempt: int) -> None:
        """The outcome of claimed attempt ``attempt``. Not waited for, not fsynced (the next
        durable commit, or the end of the run, syncs it)."""
        assert state in STATES
        statements: list[Statement] = [
            (
                "UPDATE letters SET state = ?, reply = ?, updated = ? WHERE message_id = ?",
                (state, reply, _stamp(now), message_id),
            ),
            ("UPDATE attempts SET state = ?, reply = ? WHERE id = ?", (state, reply, attempt)),
        ]
        self._submit(statements, wait=False, durable=False)


def now() -> float:
    return time.time()
