"""Atomic text writes: all or nothing, readable by everyone."""
import stat

import pytest

from ppocr_ext.atomic import atomic_write_text

def test_writes_and_replaces_with_shared_permissions(tmp_path):
    path = atomic_write_text(tmp_path / "sub" / "report.md", "one")
    atomic_write_text(path, "two")
    assert path.read_text() == "two"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["report.md"]

def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = atomic_write_text(tmp_path / "report.md", "old")

    def fail(*_):
        raise OSError("disk full")
    monkeypatch.setattr("ppocr_ext.atomic.os.replace", fail)
    with pytest.raises(OSError):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]
