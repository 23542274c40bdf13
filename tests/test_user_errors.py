"""Errors a user can fix are one `error:` line from every tool (issue #18, items 8 and 9):
refused checkpoints and YAML, a missing localiser, files that are not images, and
symbolic links that lead outside the folder being read."""
import cv2
import numpy as np
import pytest
import torch

from common.config import ConfigError, read_yaml
from common.errors import UserError, run_tool
from common.images import list_image_files
from common.lmdb_io import create_lmdb
from common.torch_files import CheckpointError, read_checkpoint
from pipeline.cli import read_ids_main
from ppocr_ext.rec_config import load_config


class Pickled:
    """A Python object torch.load(weights_only=True) must refuse to unpickle."""


def one_error_line(entry) -> str:
    with pytest.raises(SystemExit) as stop:
        run_tool(entry)
    message = str(stop.value.code)
    assert message.startswith("error: ") and "\n" not in message and "Traceback" not in message
    return message


@pytest.fixture
def frames(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "v1_0_.jpg"), np.full((640, 360, 3), 90, np.uint8))
    return folder


def test_a_corrupt_or_pickling_localiser_checkpoint_is_one_line_naming_it(frames, tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"this is not a checkpoint")
    message = one_error_line(lambda: read_ids_main(
        ["--frames", str(frames), "--loc-opt", f"model.checkpoint={garbage}"]))
    assert f"{garbage}: not a readable checkpoint" in message
    hostile = tmp_path / "hostile.pt"
    torch.save({"work": Pickled()}, hostile)
    message = one_error_line(lambda: read_ids_main(
        ["--frames", str(frames), "--loc-opt", f"model.checkpoint={hostile}"]))
    assert f"{hostile}: refused by torch.load(weights_only=True)" in message


def test_a_checkpoint_of_another_kind_names_what_it_lacks(tmp_path):
    other = tmp_path / "other.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, other)
    message = one_error_line(lambda: read_ids_main(
        ["--frames", str(tmp_path), "--loc-opt", f"model.checkpoint={other}"]))
    assert "not a localiser checkpoint (no work" in message
    torch.save([1, 2], other)
    with pytest.raises(CheckpointError, match="holds a list, not a checkpoint"):
        read_checkpoint(other)


def test_reading_without_a_trained_localiser_says_how_to_train_it(frames, tmp_path):
    message = one_error_line(lambda: read_ids_main(
        ["--frames", str(frames), "--loc-opt", f"model.checkpoint={tmp_path / 'none.pt'}"]))
    assert "none.pt: no strip classifier + DDT checkpoint" in message
    assert "python tools/localize.py -c configs/loc/ddt.yml" in message


def test_yaml_with_python_tags_is_refused_with_its_file_and_line(frames, tmp_path):
    hostile = tmp_path / "hostile.yml"
    hostile.write_text("data:\n  root: !!python/object/apply:os.system ['echo hi']\n")
    message = one_error_line(lambda: read_ids_main(
        ["--frames", str(frames), "--loc-config", str(hostile)]))
    assert f"{hostile}:2: invalid YAML" in message
    with pytest.raises(ConfigError, match=r"hostile.yml:2: invalid YAML"):
        load_config(hostile)                                  # the recogniser's configs
    with pytest.raises(ConfigError, match="config file not found"):
        read_yaml(tmp_path / "absent.yml")


def test_run_tool_passes_the_exit_status_and_keeps_tracebacks_of_bugs():
    with pytest.raises(SystemExit) as stop:
        run_tool(lambda: 3)
    assert stop.value.code == 3
    run_tool(lambda: {"frames": 1})                           # a summary: exit status 0
    with pytest.raises(TypeError):
        run_tool(lambda: len(5))                              # a bug keeps its traceback
    assert one_error_line(lambda: (_ for _ in ()).throw(UserError("x.txt:3: fix it"))) \
        == "error: x.txt:3: fix it"


def test_links_leading_outside_a_folder_are_skipped_by_name_unless_followed(tmp_path):
    folder, elsewhere = tmp_path / "in", tmp_path / "secret"
    folder.mkdir(), elsewhere.mkdir()
    image = cv2.imencode(".png", np.full((20, 60, 3), 200, np.uint8))[1].tobytes()
    (folder / "a.png").write_bytes(image)
    (elsewhere / "b.png").write_bytes(image)
    (folder / "inside.png").symlink_to(folder / "a.png")
    (folder / "outside.png").symlink_to(elsewhere / "b.png")
    images, skipped = list_image_files(folder)
    assert [p.name for p in images] == ["a.png", "inside.png"]
    assert skipped[0]["name"] == "outside.png"
    assert "outside" in skipped[0]["reason"] and "--follow-symlinks" in skipped[0]["reason"]
    images, skipped = list_image_files(folder, follow_symlinks=True)
    assert [p.name for p in images] == ["a.png", "inside.png", "outside.png"] and not skipped

    labels = tmp_path / "labels.txt"
    labels.write_text("v1_0_.png\tAbc123\nv2_0_.png\tXyz789\n")
    (folder / "v1_0_.png").write_bytes(image)
    (folder / "v2_0_.png").symlink_to(elsewhere / "b.png")
    summary = create_lmdb(folder, labels, tmp_path / "lmdb", val_fraction=0, skip_bad=True)
    assert [p.line for p in summary.skipped] == [2] and "outside" in summary.skipped[0].reason
    summary = create_lmdb(folder, labels, tmp_path / "lmdb", val_fraction=0,
                          follow_symlinks=True)
    assert not summary.skipped and summary.written["all"].samples == 2
