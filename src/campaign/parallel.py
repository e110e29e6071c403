"""--jobs: split the rows into ranges and run one worker per range in forked processes."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

from campaign.errors import CampaignError, CampaignInvalid

T = TypeVar("T")
Progress = Callable[[int], None]


def bounds(total: int, jobs: int) -> list[tuple[int, int | None]]:
    """Row-number ranges, one per process; the last is open-ended (the total is an estimate)."""
    if jobs <= 1:
        return [(1, None)]
    size = max(1, -(-total // jobs))
    ranges: list[tuple[int, int | None]] = [
        (k * size + 1, (k + 1) * size) for k in range(jobs - 1) if k * size < total
    ]
    ranges.append((len(ranges) * size + 1, None))
    return ranges


def run(
    work: Callable[[int, int | None, Progress | None], T],
    ranges: list[tuple[int, int | None]],
    progress: Progress | None,
) -> list[T]:
    """work(first, last, progress) for each range: here for one, in forked processes for more.

    A worker's CampaignError (and CampaignInvalid) is raised here as it was there; any other
    exception is raised here too, with the worker's traceback as a note.
    """
    if len(ranges) == 1:
        first, last = ranges[0]
        return [work(first, last, progress)]
    from multiprocessing import get_context  # only --jobs needs it: no cost to one process

    context = get_context("fork")
    done = context.Value("q", 0)
    pipes = []
    processes = []
    for first, last in ranges:
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(
            target=_child, args=(sender, done, work, first, last), daemon=True
        )
        process.start()
        sender.close()
        pipes.append(receiver)
        processes.append(process)
    results: list[T] = []
    reported = 0
    try:
        for receiver in pipes:
            while not receiver.poll(0.1):
                if progress is not None and done.value > reported:
                    progress(done.value - reported)
                    reported = done.value
            try:
                kind, payload = receiver.recv()
            except EOFError:
                raise RuntimeError("an export process died without a result") from None
            if kind == "invalid":
                raise CampaignInvalid(payload)
            if kind == "error":
                raise CampaignError(payload)
            if kind == "exception":
                raise payload
            results.append(payload)
        if progress is not None and done.value > reported:
            progress(done.value - reported)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
            process.join()
    return results


def _die_with_parent() -> None:
    """A worker ends with the run that started it, even one killed with SIGKILL.

    Otherwise it would go on writing into a staging folder the next run is removing.
    """
    import ctypes
    import multiprocessing

    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:
        os._exit(1)  # the parent was gone before the line above took effect


def _child(
    sender: Any,
    done: Any,
    work: Callable[[int, int | None, Progress | None], Any],
    first: int,
    last: int | None,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _die_with_parent()
    pending = 0

    def tick(count: int) -> None:
        nonlocal pending
        pending += count
        if pending >= 256:
            with done.get_lock():
                done.value += pending
            pending = 0

    try:
        result = work(first, last, tick)
        tick(0)
        with done.get_lock():
            done.value += pending
        sender.send(("ok", result))
    except CampaignInvalid as exc:
        sender.send(("invalid", exc.problems))
    except CampaignError as exc:
        sender.send(("error", str(exc)))
    except Exception as exc:
        # Raised again in the main process; a bug's traceback from here goes with it.
        exc.add_note("in an export process:\n" + traceback.format_exc())
        sender.send(("exception", exc))
    finally:
        sender.close()
