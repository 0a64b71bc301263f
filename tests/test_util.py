from __future__ import annotations

from pathlib import Path

import pytest

from cocreation_nlp import util
from cocreation_nlp.util import file_sha256, language_code, usable_cores


@pytest.mark.parametrize(
    ("tag", "code"),
    [
        ("en", "en"),
        ("en-GB", "en"),
        ("en_GB", "en"),
        ("EN_us", "en"),
        (" fr ", "fr"),
        ("", "und"),
        (None, "und"),
    ],
)
def test_util_language_code_normalises_tags(tag: str | None, code: str) -> None:
    assert language_code(tag) == code


def test_util_file_sha256_matches_hashlib(tmp_path: Path) -> None:
    import hashlib

    data = bytes(range(256)) * 5000  # more than one 1 MiB chunk
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    assert file_sha256(str(path)) == file_sha256(path)


def _cgroup(root: Path, cpu_max: str | None = None, v1: tuple[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if cpu_max is not None:
        (root / "cpu.max").write_text(cpu_max, encoding="ascii")
    if v1 is not None:
        (root / "cpu").mkdir()
        (root / "cpu" / "cpu.cfs_quota_us").write_text(v1[0], encoding="ascii")
        (root / "cpu" / "cpu.cfs_period_us").write_text(v1[1], encoding="ascii")
    return root


def test_util_cgroup_quota_is_read_in_both_versions(tmp_path: Path) -> None:
    assert util._cgroup_cpu_limit(_cgroup(tmp_path / "v2", "150000 100000\n")) == 1.5
    assert util._cgroup_cpu_limit(_cgroup(tmp_path / "none", "max 100000\n")) is None
    assert util._cgroup_cpu_limit(_cgroup(tmp_path / "v1", v1=("200000", "100000"))) == 2.0
    assert util._cgroup_cpu_limit(_cgroup(tmp_path / "v1none", v1=("-1", "100000"))) is None
    assert util._cgroup_cpu_limit(tmp_path / "absent") is None


def test_util_usable_cores_respects_a_cpu_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(util.os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    monkeypatch.setattr(util, "_cgroup_cpu_limit", lambda: None)
    assert usable_cores() == 8
    monkeypatch.setattr(util, "_cgroup_cpu_limit", lambda: 1.5)
    assert usable_cores() == 2  # a quota of 1.5 cores still runs two threads part of the time
    monkeypatch.setattr(util, "_cgroup_cpu_limit", lambda: 0.2)
    assert usable_cores() == 1
