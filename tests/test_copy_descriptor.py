"""The learned copy descriptor (copydetect/descriptor.py) and its training
(copydetect/training.py): shapes, files, the loss, reproducible and resumable runs."""
import cv2
import numpy as np
import pytest
import torch

from common.config import ConfigError
from common.torch_files import CheckpointError
from copydetect.descriptor import CopyDescriptor, describe, load_descriptor, save_descriptor
from copydetect.training import (REFERENCE, FrameBank, batch_frames, contrastive_loss, load_config, make_batch,
                                 train_descriptor)


def frames(count=6, seed=0):
    rng = np.random.default_rng(seed)
    return [cv2.resize(rng.integers(0, 256, (8, 5, 3), dtype=np.uint8), (90, 160),
                       interpolation=cv2.INTER_NEAREST) for _ in range(count)]


def small_model():
    torch.manual_seed(0)
    return CopyDescriptor(channels=(8, 8, 16, 16), dim=16, input_size=32)


def test_descriptors_are_unit_vectors_of_any_frame_in_order():
    model = small_model()
    images = frames(3) + [np.zeros((40, 300), np.uint8)]
    vectors = describe(model, images, batch=2)
    assert vectors.shape == (4, 16) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert np.allclose(describe(model, images[1:2]), vectors[1:2], atol=1e-6)


def test_saved_descriptor_gives_the_same_vectors_and_bad_files_are_named(tmp_path):
    model = small_model()
    save_descriptor(model, tmp_path / "d.pt")
    assert np.allclose(describe(load_descriptor(tmp_path / "d.pt"), frames()), describe(model, frames()))
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="other.pt"):
        load_descriptor(tmp_path / "other.pt")


def test_loss_prefers_aligned_pairs_and_counts_retrieval_accuracy():
    torch.manual_seed(0)
    base = torch.nn.functional.normalize(torch.randn(8, 16), dim=1)
    aligned, parts = contrastive_loss(torch.cat([base, base]), 0.05, 0.5)
    shuffled, other = contrastive_loss(torch.cat([base, base[torch.randperm(8)]]), 0.05, 0.5)
    assert parts["acc"] == 1.0 and other["acc"] < 1.0 and aligned < shuffled


def _config(tmp_path, folder, steps):
    config = load_config(REFERENCE, {
        "data.frames": str(folder), "data.cache_size": [45, 80], "model.input_size": 32,
        "model.channels": [8, 8, 16, 16], "model.dim": 16, "train.steps": steps,
        "train.batch_size": 4, "train.warmup": 2, "train.workers": 0, "train.threads": 1,
        "train.bf16": False, "train.save_every": 3, "train.log_every": 1,
        "output.dir": str(tmp_path / "run")})
    return config


def _frame_folder(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, image in enumerate(frames(8)):
        cv2.imwrite(str(folder / f"v{i // 2}_{i % 2}_.jpg"), image)
    (folder / "broken_0_.jpg").write_bytes(b"not a jpeg")
    return folder


def test_batches_depend_on_seed_and_step_only(tmp_path):
    config = _config(tmp_path, _frame_folder(tmp_path), 4)
    bank = FrameBank(config["data"]["frames"], 0, (45, 80), 0)
    assert len(bank.frames) == 8 and len(bank.video_list) == 4      # the broken file skipped
    a, b = make_batch(bank, 5, config), make_batch(bank, 5, config)
    assert a.shape == (8, 3, 32, 32) and torch.equal(a, b)
    assert not torch.equal(a, make_batch(bank, 6, config))


def test_sibling_negatives_put_two_frames_of_one_video_in_the_batch(tmp_path):
    config = _config(tmp_path, _frame_folder(tmp_path), 4)
    bank = FrameBank(config["data"]["frames"], 0, (45, 80), 0)
    config["data"]["same_video_prob"] = 1.0
    for share, sibling_videos in ((0.0, 0), (0.5, 1), (1.0, 2)):
        config["data"]["sibling_negatives"] = share
        for step in range(5):
            pairs = batch_frames(bank, np.random.default_rng(step), config)
            assert len(pairs) == 4
            videos = [video_of(bank, a) for a, _ in pairs]
            shared = [v for v in set(videos) if videos.count(v) == 2]
            assert len(shared) == sibling_videos and len(set(videos)) == 4 - sibling_videos
            for anchor, partner in pairs:     # a sibling is never its own video's positive
                if video_of(bank, anchor) in shared:
                    assert partner == anchor
                else:                         # the others: a frame of their video
                    assert video_of(bank, partner) == video_of(bank, anchor)
    assert make_batch(bank, 0, config).shape == (8, 3, 32, 32)


def video_of(bank, index):
    return next(v for v, members in bank.videos.items() if index in members)


def test_a_resumed_run_ends_with_the_uninterrupted_weights(tmp_path):
    folder = _frame_folder(tmp_path)
    whole = load_descriptor(train_descriptor(_config(tmp_path / "a", folder, 6)))
    config = _config(tmp_path / "b", folder, 6)
    assert train_descriptor(config, stop_after=3) is None     # a run stopped after 3 of 6 steps
    resumed = load_descriptor(train_descriptor(config, resume=True))
    log = (tmp_path / "b" / "run" / "train.log").read_text().splitlines()
    assert [line.split()[1] for line in log] == ["1", "2", "3", "4", "5", "6"]
    for (name, x), (_, y) in zip(whole.state_dict().items(), resumed.state_dict().items()):
        assert torch.allclose(x.float(), y.float(), atol=1e-5), name


def test_unknown_config_keys_are_named(tmp_path):
    with pytest.raises(ConfigError, match="train.stepz"):
        load_config(REFERENCE, {"train.stepz": 3})
