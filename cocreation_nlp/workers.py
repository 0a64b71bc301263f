"""Worker processes that end when the process that started them ends.

A process pool's workers wait on a pipe whose write end they themselves
inherited, so when the parent is killed (``kill -9``, an out-of-memory kill,
a closed terminal) they never see end-of-file and live on, each holding a
loaded model in memory. :func:`exit_with_parent`, called first thing in
every worker, prevents that twice over:

* on Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` has the kernel kill the
  worker the moment its parent dies;
* everywhere, a daemon thread checks once a second whether the worker has
  been handed to another parent (``os.getppid()`` changed) and then exits.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

__all__ = ["exit_with_parent"]

PR_SET_PDEATHSIG = 1


def _set_parent_death_signal() -> bool:
    """Ask the Linux kernel to send SIGKILL to this process when its parent dies; ``False`` where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def exit_with_parent(parent_pid: int, *, interval_s: float = 1.0) -> None:
    """Make this (worker) process exit when the process ``parent_pid`` is no longer its parent.

    Args:
        parent_pid: the pid of the process that started this one, passed in
            (not read here: if the parent died before this runs, ``getppid``
            would already name its successor).
        interval_s: how often the watchdog thread looks.
    """
    _set_parent_death_signal()
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(interval_s)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
