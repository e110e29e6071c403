"""Sending an eml export: check the folder against its seal, then deliver with a journal.

Letters go through ``connections`` reused SMTP sessions in parallel, under one rate limit per
minute that also counts the attempts earlier runs made (the journal has their times). A
deferred letter is retried with a doubling delay within the run, and again by the next run.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import itertools
import ssl
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from campaign.errors import CampaignError
from campaign.exportseal import SealedLetter, load_seal, read_back
from campaign.journal import Journal, JournalFailed, now
from campaign.message import InternalError
from campaign.smtpconfig import SmtpConfig
from campaign.smtpsession import ConnectFailed, Outcome, Session, SessionFatal, tls_context

SHOWN = 10  # letters named in one message


@dataclass
class Plan:
    """What a run would do: the letters to send and what the journal already says."""

    folder: Path
    letters: list[SealedLetter]
    to_send: list[SealedLetter]
    counts: dict[str, int]
    edited: list[str] = field(default_factory=list)
    unknown: list[SealedLetter] = field(default_factory=list)


def names(items: list[str]) -> str:
    """The first few of ``items``, and how many more."""
    more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return ", ".join(items[:SHOWN]) + more


def letter_bytes(folder: Path, letter: SealedLetter, allow_edited: bool) -> tuple[bytes, str]:
    """The bytes to send for ``letter`` and their SHA-256: the exported ones, or edited ones
    that read back.

    Bytes with the seal's hash are the ones the export read back before it sealed them; only
    edited bytes are read back again here.
    """
    try:
        data = (folder / letter.file).read_bytes()
    except FileNotFoundError:
        raise CampaignError(
            f"{folder / letter.file} is missing: {folder} is not a complete export (export again)"
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    if digest == letter.sha256:
        return data, digest
    if not allow_edited:
        raise CampaignError(f"{folder / letter.file} was changed since the export")
    try:
        to, message_id = read_back(data)
    except InternalError as exc:
        raise CampaignError(
            f"{folder / letter.file}: its headers are not in the form export writes ({exc}): "
            "export it again"
        ) from None
    if (to, message_id) != (letter.to, letter.message_id):
        raise CampaignError(
            f"{folder / letter.file}: its To or Message-ID do not match the export's seal: "
            "export it again"
        )
    return data, digest


def make_plan(folder: Path, journal: Journal, *, allow_edited: bool, retry_unknown: bool) -> Plan:
    """Check every letter of the export in ``folder``; raise CampaignError naming the bad ones."""
    letters = load_seal(folder)
    missing = [s.file for s in letters if not (folder / s.file).is_file()]
    if missing:
        raise CampaignError(
            f"{folder} is not a complete export: {names(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing (export again)"
        )
    edited = []
    for letter in letters:
        with open(folder / letter.file, "rb") as handle:
            if hashlib.file_digest(handle, "sha256").hexdigest() != letter.sha256:
                edited.append(letter)
    if edited and not allow_edited:
        raise CampaignError(
            f"{names([s.file for s in edited])} in {folder} "
            f"{'was' if len(edited) == 1 else 'were'} changed since the export: export again, "
            "or pass --allow-edited to send the edited bytes"
        )
    for letter in edited:
        letter_bytes(folder, letter, allow_edited)
    if journal.writable:
        journal.begin_run(letters, now())
    entries = journal.entries()
    counts = dict.fromkeys(("sent", "failed", "deferred", "unknown", "pending"), 0)
    to_send, unknown = [], []
    for letter in letters:
        entry = entries.get(letter.message_id)
        state = entry.state if entry else "pending"
        state = "unknown" if state == "sending" else state
        counts[state] += 1
        if state == "unknown":
            unknown.append(letter)
        if state in ("pending", "deferred") or (state == "unknown" and retry_unknown):
            to_send.append(letter)
    return Plan(folder, letters, to_send, counts, [s.file for s in edited], unknown)


class RateLimit:
    """At most ``per_minute`` attempts in any 60 seconds, over every connection and run."""

    def __init__(self, per_minute: int, earlier: list[float]) -> None:
        self.per_minute = per_minute
        self.times: deque[float] = deque(earlier[-per_minute:] if per_minute else ())
        self.cond = threading.Condition()

    def acquire(self, stop: threading.Event) -> bool:
        if not self.per_minute:
            return True
        with self.cond:
            while not stop.is_set():
                moment = now()
                while self.times and self.times[0] <= moment - 60:
                    self.times.popleft()
                if len(self.times) < self.per_minute:
                    self.times.append(moment)
                    return True
                self.cond.wait(min(self.times[0] + 60 - moment, 0.1))  # notice a stop
        return False


@dataclass(frozen=True)
class Claimed:
    """A letter claimed in the journal (attempt ``attempt``), its bytes read, not yet sent."""

    letter: SealedLetter
    tries: int
    data: bytes
    attempt: int


@dataclass
class Result:
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("sent", "failed", "deferred", "unknown"), 0)
    )
    problems: list[tuple[SealedLetter, str, str]] = field(default_factory=list)
    stopped: str = ""  # why the run stopped early, if it did


class Sender:
    """Delivers a plan's letters; every state change goes to the journal first."""

    def __init__(
        self,
        plan: Plan,
        config: SmtpConfig,
        password: str | None,
        journal: Journal,
        *,
        limit: int | None = None,
        allow_edited: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.plan, self.config, self.password, self.journal = plan, config, password, journal
        self.allow_edited = allow_edited
        self.progress = progress or (lambda _: None)
        todo = plan.to_send[:limit] if limit is not None else plan.to_send
        self.queue: list[tuple[float, int, SealedLetter, int]] = [
            (0.0, n, letter, 0) for n, letter in enumerate(todo)
        ]
        self.total = len(todo)
        self.order = itertools.count(len(todo))
        self.busy = 0
        self.cond = threading.Condition()
        self.stop = threading.Event()
        self.result = Result()
        self.rate = RateLimit(config.rate, journal.recent_starts(now() - 60))
        self.lost_workers = 0
        self.workers = min(config.connections, max(1, self.total))
        self.context: ssl.SSLContext | None = None

    def run(self) -> Result:
        workers = [
            threading.Thread(target=self._worker, name=f"smtp-{n}", daemon=True)
            for n in range(self.workers)
        ]
        for worker in workers:
            worker.start()
        try:
            for worker in workers:
                while worker.is_alive():
                    worker.join(0.2)
        except BaseException:
            self.stop.set()
            with self.cond:
                self.cond.notify_all()
            raise
        finally:
            self.journal.flush()
        return self.result

    # -- the queue ------------------------------------------------------------------------------

    def _take(self, most: int) -> list[tuple[SealedLetter, int]]:
        """Up to ``most`` letters that are due, waiting for the first; [] when all is done."""
        with self.cond:
            while not self.stop.is_set():
                if self.queue:
                    due = self.queue[0][0] - now()
                    if due <= 0:  # a fair share, so that every connection has work
                        most = min(most, -(-len(self.queue) // self.workers))
                        taken: list[tuple[SealedLetter, int]] = []
                        while self.queue and len(taken) < most and self.queue[0][0] <= now():
                            _, _, letter, tries = heapq.heappop(self.queue)
                            taken.append((letter, tries))
                        self.busy += len(taken)
                        return taken
                    self.cond.wait(due)
                elif self.busy:
                    self.cond.wait()
                else:
                    return []
        return []

    def _done(self, letter: SealedLetter, tries: int, outcome: Outcome | None) -> None:
        """Book a finished attempt; a deferred letter with retries left goes back in line."""
        with self.cond:
            self.busy -= 1
            if outcome is None:  # put back untried (the connection is gone)
                heapq.heappush(self.queue, (now(), next(self.order), letter, tries))
            elif outcome.state == "deferred" and tries < self.config.retries:
                delay = self.config.retry_delay * 2**tries
                heapq.heappush(self.queue, (now() + delay, next(self.order), letter, tries + 1))
            else:
                self.result.counts[outcome.state] += 1
                if outcome.state != "sent":
                    self.result.problems.append((letter, outcome.state, outcome.reply))
                self.progress(1)
            self.cond.notify_all()

    def _halt(self, why: str) -> None:
        with self.cond:
            if not self.result.stopped:
                self.result.stopped = why
            self.stop.set()
            self.cond.notify_all()

    # -- one connection ---------------------------------------------------------------------------

    def _connect(self) -> Session | None:
        """A session, trying again with a doubling delay; None when the server stays away."""
        for tries in itertools.count():
            try:
                if self.context is None and self.config.security != "none":
                    with self.cond:
                        self.context = self.context or tls_context(self.config)
                return Session(self.config, self.password, self.context)
            except SessionFatal as exc:
                self._halt(str(exc))
                return None
            except ConnectFailed as exc:
                if tries >= self.config.retries:
                    with self.cond:
                        self.lost_workers += 1
                        if self.lost_workers >= min(self.config.connections, self.total):
                            self._halt(f"could not connect to the server: {exc}")
                    return None
                if self.stop.wait(self.config.retry_delay * 2**tries):
                    return None
        return None

    def _claim(self, taken: list[tuple[SealedLetter, int]]) -> list[Claimed] | None:
        """Read the letters and claim them in one durable transaction; None (each put back
        untried) when the run must stop."""
        try:
            read = [(letter, tries, *letter_bytes(self.plan.folder, letter, self.allow_edited))
                    for letter, tries in taken]  # fmt: skip
            attempts = self.journal.claim([(r[0].message_id, r[3]) for r in read], now())
        except CampaignError as exc:  # an edited or missing letter, or JournalFailed
            self._halt(str(exc))
            for letter, tries in taken:
                self._done(letter, tries, None)
            return None
        return [Claimed(r[0], r[1], r[2], a) for r, a in zip(read, attempts, strict=True)]

    def _worker(self) -> None:
        session: Session | None = None
        claimed: deque[Claimed] = deque()
        try:
            while True:
                if not claimed:
                    taken = self._take(self.journal.batch)
                    batch = self._claim(taken) if taken else None
                    if batch is None:
                        return
                    claimed.extend(batch)
                if session is None:
                    session = self._connect()
                    if session is None:
                        return
                if not self.rate.acquire(self.stop):
                    return
                item = claimed.popleft()
                outcome = self._send_one(session, item)
                if outcome is None:
                    self._done(item.letter, item.tries, None)
                    return
                if not outcome.keep_connection:
                    session.close()
                    session = None
                self._done(item.letter, item.tries, outcome)
        finally:
            for item in claimed:  # claimed but not started: as they were, back in line
                with contextlib.suppress(JournalFailed):
                    self.journal.release(item.letter.message_id, item.attempt)
                self._done(item.letter, item.tries, None)
            if session is not None:
                session.close()

    def _send_one(self, session: Session, item: Claimed) -> Outcome | None:
        letter = item.letter

        def start() -> int:
            self.journal.start(item.attempt, now())
            return item.attempt

        try:
            outcome, _ = session.deliver(self.config.envelope_sender, letter.to, item.data, start)
            state, reply = outcome.state, outcome.reply
            self.journal.record(letter.message_id, state, reply, now(), item.attempt)
        except JournalFailed as exc:
            self._halt(str(exc))
            return None
        return outcome
