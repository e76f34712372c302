"""Child processes in their own process group, stopped with SIGTERM, then SIGKILL, and reaped.

A child started with :func:`start` leads a new session (``start_new_session=True``), so
:func:`stop` signals it *and everything it started* (node's workers, a shell's children),
and a Ctrl-C in the terminal reaches only us: we decide when children stop. Caveat: a
child that was not started here gets the signal alone (its group is not its own).
"""

from __future__ import annotations

import os
import signal
import subprocess
from typing import Any


def start(cmd: list[str], **kw: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen(cmd, **kw)`` as the leader of a new process group."""
    return subprocess.Popen(cmd, start_new_session=True, **kw)


def send(proc: subprocess.Popen[Any], sig: int) -> None:
    """``sig`` to ``proc``'s group when it leads one, else to ``proc``; nothing if it is gone."""
    if proc.poll() is not None:
        return
    try:
        if os.getpgid(proc.pid) == proc.pid:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
    except ProcessLookupError:
        pass


def stop(proc: subprocess.Popen[Any], grace: float = 10.0, sig: int = signal.SIGTERM) -> None:
    """``sig`` (SIGTERM: drain and exit), SIGKILL if it is still there after ``grace``
    seconds, then reap it and close the pipes we hold to it. ``sig=SIGKILL``: no grace."""
    if proc.poll() is None:
        send(proc, sig)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    if proc.poll() is None:
        send(proc, signal.SIGKILL)
        proc.wait(10)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def kill(proc: subprocess.Popen[Any]) -> None:
    """SIGKILL at once (no shutdown, no goodbye), then reap."""
    stop(proc, sig=signal.SIGKILL)


class Children:
    """Every child started through it, so that all of them can be stopped on the way out."""

    def __init__(self) -> None:
        self.children: list[subprocess.Popen[Any]] = []

    def start(self, cmd: list[str], **kw: Any) -> subprocess.Popen[Any]:
        proc = start(cmd, **kw)
        self.children.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[Any], grace: float = 3.0) -> None:
        stop(proc, grace)
        if proc in self.children:
            self.children.remove(proc)

    def stop_all(self, grace: float = 1.0) -> None:
        for proc in list(self.children):
            self.stop(proc, grace)
