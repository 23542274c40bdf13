"""Atomic text writes: all or nothing, readable by everyone."""
import stat

import pytest

from common.atomic import atomic_write_text

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
    monkeypatch.setattr("common.atomic.os.replace", fail)
    with pytest.raises(OSError):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_a_checkpoint_save_removes_what_a_killed_save_left(tmp_path):
    """Issue #18 item 5: a SIGKILL during torch.save leaves `.latest.pth.*.tmp` behind."""
    import torch

    from ppocr_ext.checkpoint import atomic_save

    (tmp_path / ".latest.pth.k1ll3d.tmp").write_bytes(b"half a checkpoint")
    (tmp_path / ".best.pth.other.tmp").write_bytes(b"another file's")
    atomic_save({"step": 3}, tmp_path / "latest.pth")
    assert torch.load(tmp_path / "latest.pth", weights_only=True) == {"step": 3}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".best.pth.other.tmp", "latest.pth"]
