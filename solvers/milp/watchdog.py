"""A hard stop for the CBC process: CBC checks its own time limit only between nodes of its search,
so reading a large model, its root LP and its cuts can run far past it (on the time-indexed model
of a 40-kernel DAG, ``sec 2`` took 22 s). PuLP runs CBC as a child process and keeps no handle on
it; :class:`CbcWatchdog` finds that child through ``/proc`` (Linux; elsewhere it does nothing) and
kills it once the solve's time is spent, so that the stage ends with no solution and the driver
keeps the schedule it already has.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from types import TracebackType


def _children(pid: int) -> list[int]:
    """The process ids of ``pid``'s children (empty where ``/proc`` does not list them)."""
    out: list[int] = []
    tasks = Path(f"/proc/{pid}/task")
    if not tasks.is_dir():
        return out
    for task in tasks.iterdir():
        try:
            out += [int(text) for text in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return out


def _executable(pid: int) -> str | None:
    try:
        return os.path.realpath(f"/proc/{pid}/exe")
    except OSError:
        return None


class CbcWatchdog:
    """``with CbcWatchdog(path, seconds):`` kills this process's children running ``path`` after
    ``seconds`` (None: never). ``fired`` says whether it did."""

    def __init__(self, path: str | None, seconds: float | None) -> None:
        self.path = None if path is None else os.path.realpath(path)
        self.seconds = seconds
        self.fired = False
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> CbcWatchdog:
        if self.path is not None and self.seconds is not None:
            self._thread = threading.Thread(target=self._watch, name="cbc-watchdog", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()

    def _watch(self) -> None:
        assert self.seconds is not None
        if self._done.wait(max(self.seconds, 0.0)):
            return
        for child in _children(os.getpid()):
            if _executable(child) == self.path:
                try:
                    os.kill(child, signal.SIGKILL)
                    self.fired = True
                except OSError:
                    continue
