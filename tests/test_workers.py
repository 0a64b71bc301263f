"""Worker processes end when their parent is killed (kill -9), instead of living on with a model loaded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

PARENT = textwrap.dedent(
    """
    import os, sys, time
    from concurrent.futures import ProcessPoolExecutor
    from cocreation_nlp.workers import exit_with_parent

    def pid_then_sleep(_):
        with open(sys.argv[1], "a") as fh:
            fh.write(f"{os.getpid()}\\n")
        time.sleep(600)

    if __name__ == "__main__":
        WATCH = sys.argv[2] == "watch"
        init = (exit_with_parent, (os.getpid(),)) if WATCH else (None, ())
        with ProcessPoolExecutor(2, initializer=init[0], initargs=init[1]) as pool:
            for _ in range(2):
                pool.submit(pid_then_sleep, 0)
            time.sleep(600)
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead but not yet reaped by its new parent.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _start(tmp_path: Path, mode: str) -> tuple[subprocess.Popen, list[int]]:
    script = tmp_path / "parent.py"
    script.write_text(PARENT, encoding="utf-8")
    pids_file = tmp_path / f"pids-{mode}.txt"
    parent = subprocess.Popen([sys.executable, str(script), str(pids_file), mode])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pids = [int(x) for x in pids_file.read_text().split()] if pids_file.exists() else []
        if len(pids) == 2:
            return parent, pids
        time.sleep(0.1)
    parent.kill()
    raise AssertionError("the workers did not start")


def _wait_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if _alive(p)]


def test_workers_exit_when_the_parent_is_killed(tmp_path: Path):
    parent, pids = _start(tmp_path, "watch")
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    assert _wait_gone(pids, 10) == []


def test_workers_without_the_guard_outlive_a_killed_parent(tmp_path: Path):
    # The failure this guards against, shown: plain pool workers live on after kill -9.
    parent, pids = _start(tmp_path, "plain")
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    try:
        assert _wait_gone(pids, 3) == pids
    finally:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


SCORE_PARENT = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import cocreation_nlp.pipeline as pipeline

    def record_and_hang(source, job):
        with open(sys.argv[1], "a") as fh:
            fh.write(f"{os.getpid()}\\n")
        time.sleep(600)

    if __name__ == "__main__":
        pipeline.process_source = record_and_hang  # the workers fork with it
        pipeline.run_score([Path(sys.argv[2])], Path(sys.argv[3]), model="rules", workers=2)
    """
)


def test_workers_of_a_score_run_exit_when_it_is_killed(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(8):  # enough documents for the process pool (4 per worker)
        (corpus / f"d{i}.txt").write_text(f"Residents co-design service {i}.\n", encoding="utf-8")
    script = tmp_path / "score_parent.py"
    script.write_text(SCORE_PARENT, encoding="utf-8")
    pids_file = tmp_path / "pids.txt"
    parent = subprocess.Popen(
        [sys.executable, str(script), str(pids_file), str(corpus), str(tmp_path / "out")]
    )
    deadline = time.monotonic() + 120
    pids: list[int] = []
    while time.monotonic() < deadline and len(set(pids)) < 2:
        pids = [int(x) for x in pids_file.read_text().split()] if pids_file.exists() else []
        time.sleep(0.2)
    try:
        assert len(set(pids)) == 2, "the score run did not start two workers"
    finally:
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
    assert _wait_gone(sorted(set(pids)), 10) == []
