"""CTC string probabilities, voting, posterior fusion and per-video consensus."""
import json
import math

import numpy as np
import pytest

import ctc_oracle
from ctc_oracle import CHARS, brute_force
from ppocr_ext.consensus import consensus, consensus_by_video, group_by_video
from ppocr_ext.ctc import ctc_kbest, ctc_string_logprob, greedy_reading
from ppocr_ext.ensemble import FusionError, ensemble_main, fuse_posteriors, run_ensemble, vote
from ppocr_ext.posteriors import CropSample, load_torch_recognizer
from rec_fixtures import WORDS, one_torch_thread, render_crop  # noqa: F401 (autouse)
from tiny_model import make_tiny_model


def random_posteriors(rng, frames, classes=len(CHARS) + 1, peak=2.0):
    logits = rng.normal(size=(frames, classes)) * peak
    return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


@pytest.mark.parametrize("seed", range(4))
def test_ctc_string_logprob_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    probs = random_posteriors(rng, frames=5)
    for text, p in brute_force(probs).items():   # every reachable string, "aa" and "" too
        assert math.exp(ctc_string_logprob(probs, text, CHARS)) == pytest.approx(p, rel=1e-9)
    assert ctc_string_logprob(probs, "aIaIaI", CHARS) == -math.inf   # needs 6 frames


def test_ctc_string_logprob_agrees_with_kbest_probabilities():
    probs = random_posteriors(np.random.default_rng(7), frames=6)
    # a beam wider than the number of prefixes with no pruning is exact
    for text, p in ctc_kbest(probs, CHARS, k=10, beam=10_000, cutoff=0.0):
        assert math.exp(ctc_string_logprob(probs, text, CHARS)) == pytest.approx(p, rel=1e-9)


def test_ctc_string_logprob_rejects_unknown_symbols():
    with pytest.raises(ValueError, match="outside the dictionary"):
        ctc_string_logprob(np.full((3, 4), 0.25), "x", CHARS)


def one_hot(path, eps=0.02):
    return ctc_oracle.one_hot(path, eps)


def test_greedy_reading_collapses_and_reports_weakest_character():
    probs = one_hot([1, 1, 0, 3, 3, 0, 3, 2])
    probs[3] = [0.2, 0.1, 0.1, 0.6]   # first 'a' over two frames: its best frame counts
    probs[7] = [0.1, 0.1, 0.7, 0.1]   # the weakest character
    reading = greedy_reading(probs, CHARS)
    assert reading.text == "Iaal"
    assert reading.confidence == pytest.approx(math.exp(ctc_string_logprob(probs, "Iaal", CHARS)))
    assert reading.char_min == pytest.approx(0.7)


def test_vote_picks_the_majority_and_weights_confidence():
    assert vote([("abc", 0.6), ("abd", 0.7), ("abc", 0.5)]) == ("abc", pytest.approx(1.1 / 1.8))
    # one very confident model against two hesitant ones: confidence decides
    assert vote([("abc", 0.1), ("abd", 0.9), ("abc", 0.1)])[0] == "abd"
    # a tie goes to the single most confident reading
    assert vote([("abd", 0.25), ("abc", 0.5), ("abd", 0.25)])[0] == "abc"
    assert vote([("abc", 0.4), ("abd", 0.4)])[0] == "abc"   # then the first model


def test_fusion_of_identical_models_equals_one_model():
    probs = random_posteriors(np.random.default_rng(1), frames=8)[None]
    fused = fuse_posteriors([probs, probs, probs])
    np.testing.assert_allclose(fused, probs, rtol=1e-6)
    assert greedy_reading(fused[0], CHARS) == greedy_reading(probs[0].astype(np.float32), CHARS)


def test_fusion_resolves_what_each_model_hesitates_on():
    a = one_hot([1, 0, 3])
    b = a.copy()
    a[2] = [0.0, 0.0, 0.55, 0.45]   # model A misreads the last glyph, B reads it
    b[2] = [0.0, 0.0, 0.1, 0.9]
    assert greedy_reading(fuse_posteriors([a, b]), CHARS).text == "Ia"


def test_fusion_refuses_different_output_lengths():
    with pytest.raises(FusionError, match=r"short: \(5, 4\).*long: \(7, 4\)"):
        fuse_posteriors([np.ones((5, 4)), np.ones((7, 4))], names=["short", "long"])


def misread(truth, position, wrong, frames_per_char=1, sure=0.6):
    """Posteriors of `truth` (indices) whose glyph at `position` looks more like `wrong`
    (probability `sure`) than like itself (the rest)."""
    path = []
    for label in truth:
        path += [label] * frames_per_char + [0]
    probs = one_hot(path)
    for t in range(position * (frames_per_char + 1), position * (frames_per_char + 1) + frames_per_char):
        probs[t] = 0.0
        probs[t, wrong], probs[t, truth[position]] = sure, 1 - sure
    return probs


def test_consensus_recovers_the_id_when_every_frame_is_wrong_somewhere_else():
    truth = [1, 2, 3, 1, 3, 2]          # "IlaIal"
    frames = [misread(truth, 0, 3), misread(truth, 2, 1), misread(truth, 5, 3)]
    singles = [greedy_reading(p, CHARS).text for p in frames]
    assert "IlaIal" not in singles and len(set(singles)) == 3
    result = consensus(frames, CHARS, k=3)
    assert result.text == "IlaIal"
    assert result.alternatives[0][0] == "IlaIal" and result.alternatives[0][1] > 0.5
    assert result.observations == 3


def test_consensus_by_video_groups_frames_by_name():
    truth_a, truth_b = [1, 2, 3, 1], [3, 3, 1, 2]
    names = ["vA_1_.jpg", "vB_1_.jpg", "vA_2_.jpg", "vB_2_.jpg", "vA_3_.jpg", "vB_3_.jpg"]
    frames = [misread(truth_a, 0, 3), misread(truth_b, 1, 2), misread(truth_a, 1, 1),
              misread(truth_b, 3, 1), misread(truth_a, 3, 2), misread(truth_b, 0, 1)]
    assert group_by_video(names) == {"vA": [0, 2, 4], "vB": [1, 3, 5]}
    result = consensus_by_video(names, [frames], CHARS, k=3)
    assert result["vA"].text == "IlaI" and result["vB"].text == "aaIl"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("tiny"))


def test_run_ensemble_of_identical_models(tiny):
    recognizer = load_torch_recognizer(*tiny)
    samples = [CropSample(f"v{i % 2}_{i}_.png", render_crop(WORDS[i % 4], i), WORDS[i % 4])
               for i in range(6)] + [CropSample("broken_1_.png", b"not an image", "abc")]
    result = run_ensemble([recognizer, recognizer], samples, group_by="video", k=3)
    assert [item["name"] for item in result.skipped] == ["broken_1_.png"]
    assert len(result.names) == 6
    single = [r.text for r in result.per_model[0]]
    assert [r.text for r in result.fused] == single == [text for text, _ in result.voted]
    assert set(result.videos) == {"v0", "v1"}


def test_ensemble_tool_reports_each_model_and_the_ensemble(tiny, tmp_path, capsys):
    crops = tmp_path / "crops"
    crops.mkdir()
    recognizer = load_torch_recognizer(*tiny)
    rows = []
    for i in range(4):
        (crops / f"vid_{i}_.png").write_bytes(render_crop(WORDS[0], i))
        rows.append(f"vid_{i}_.png\t{WORDS[0]}")
    # label one crop with what the model reads, so accuracies are not all zero
    first_text = greedy_reading(recognizer([render_crop(WORDS[0], 0)])[0], recognizer.charset).text
    rows[0] = f"vid_0_.png\t{first_text}"
    (tmp_path / "labels.txt").write_text("\n".join(rows) + "\n")
    config, weights = tiny
    out = tmp_path / "report"
    result = ensemble_main(["--model", str(config), str(weights), "--model", str(config),
                            str(weights), "--crops", str(crops), "--labels",
                            str(tmp_path / "labels.txt"), "--group-by", "video", "--k", "2",
                            "--out", str(out)])
    by_method = {(row["method"].split(":")[0], row["level"]): row for row in result}
    assert by_method[("model 1", "frame")]["correct"] >= 1
    assert by_method[("model 1", "frame")]["total"] == 4
    assert by_method[("posterior fusion", "frame")]["correct"] == \
        by_method[("model 1", "frame")]["correct"]
    assert by_method[("per-video consensus", "video")]["videos_with_one_id"] == 0
    report = json.loads((out / "report.json").read_text())
    assert report["frames"] == 4 and "vid" in report["videos"]
    assert "| vote of 2 models | frame |" in (out / "report.md").read_text()
    assert (out / "frames.csv").read_text().count("\n") == 5


def test_consensus_groups_lmdb_crops_by_the_frame_names_they_carry(tiny, tmp_path):
    from common.lmdb_io import write_lmdb
    samples = [(f"v{i % 2}_{i}_.jpg", render_crop(WORDS[0], i), WORDS[0]) for i in range(4)]
    write_lmdb(tmp_path / "ours", samples)
    config, weights = tiny
    result = ensemble_main(["--model", str(config), str(weights), "--crops",
                            str(tmp_path / "ours"), "--group-by", "video",
                            "--out", str(tmp_path / "report")])
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert set(report["videos"]) == {"v0", "v1"}
    assert any(row["method"] == "per-video consensus" for row in result)


def test_grouping_an_lmdb_without_frame_names_is_refused_by_name(tiny, tmp_path):
    import lmdb
    env = lmdb.open(str(tmp_path / "foreign"), map_size=1 << 24)
    with env.begin(write=True) as txn:                     # the engine's layout, no names
        txn.put(b"num-samples", b"1")
        txn.put(b"image-000000001", render_crop(WORDS[0], 0))
        txn.put(b"label-000000001", WORDS[0].encode())
    env.close()
    config, weights = tiny
    with pytest.raises(SystemExit, match="store no file names"):
        ensemble_main(["--model", str(config), str(weights), "--crops", str(tmp_path / "foreign"),
                       "--group-by", "video", "--out", str(tmp_path / "report")])
