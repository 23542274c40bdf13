"""tools/copy_detect.py (index, query, eval) and tools/trace.py on a tiny generated copy
benchmark: the commands a user runs, their files, and the trace's answers."""
import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from copydetect.descriptor import CopyDescriptor, save_descriptor
from copydetect.search import Describer
from synth.copies import CopyBenchConfig, make_copy_benchmark, read_csv

ROOT = Path(__file__).resolve().parents[1]


def run(*args):
    done = subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("copies")
    make_copy_benchmark(out, CopyBenchConfig(videos=5, distractor_videos=2, seed=3), progress=False)
    return out


@pytest.mark.parametrize("method", ["phash", "cnn"])
def test_index_query_eval_round_trip(bench, tmp_path, method):
    model = []
    if method == "cnn":
        torch.manual_seed(0)
        save_descriptor(CopyDescriptor((8, 8, 16, 16), 16, 32), tmp_path / "d.pt")
        model = ["--model", tmp_path / "d.pt"]
    index = tmp_path / "refs.index"
    run("tools/copy_detect.py", "index", "--references", bench / "references", "--out", index,
        "--method", method, *model)
    assert json.loads(Path(f"{index}.describer.json").read_text())["method"] == method
    run("tools/copy_detect.py", "query", "--index", index, "--queries", bench / "queries",
        "--out", tmp_path / "pred.csv")
    with open(tmp_path / "pred.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    queries = read_csv(bench / "queries.csv")
    assert len(rows) == len(queries) and {r["query_id"] for r in rows} == {q["query_id"] for q in queries}
    run("tools/copy_detect.py", "eval", "--predictions", tmp_path / "pred.csv", "--ground-truth",
        bench / "ground_truth.csv", "--queries-csv", bench / "queries.csv", "--out", tmp_path / "eval")
    scores = json.loads((tmp_path / "eval" / "scores.json").read_text())
    assert 0 <= scores["uap"] <= 1 and scores["ground_truth"] == len(read_csv(bench / "ground_truth.csv"))
    assert (tmp_path / "eval" / "pr_curve.png").stat().st_size > 1000
    assert set(scores["per_edit"]) <= {*read_edits(queries), "same video"}


def read_edits(queries):
    return {q["edit"] for q in queries if q["kind"] == "copy"}


def test_verified_query_finds_more_exact_frames_and_needs_the_keypoints(bench, tmp_path):
    """index --verify keeps ORB keypoints; query --verify-top re-ranks the candidates of an
    untrained descriptor (random weights: its own ranking is poor) by local verification,
    which finds at least as many of the true reference frames; without the keypoints file
    the query names it."""
    torch.manual_seed(0)
    save_descriptor(CopyDescriptor((8, 8, 16, 16), 16, 32), tmp_path / "d.pt")
    index = tmp_path / "refs.index"
    run("tools/copy_detect.py", "index", "--references", bench / "references", "--out", index,
        "--model", tmp_path / "d.pt", "--verify")
    assert Path(f"{index}.orb.npz").is_file()
    truth = {(t["query_id"], t["reference_id"]) for t in read_csv(bench / "ground_truth.csv")}
    found = {}
    for top in (0, 10):
        run("tools/copy_detect.py", "query", "--index", index, "--queries", bench / "queries",
            "--out", tmp_path / f"pred{top}.csv", "--verify-top", top)
        with open(tmp_path / f"pred{top}.csv", newline="") as handle:
            found[top] = sum((r["query_id"], r["reference_id"]) in truth for r in csv.DictReader(handle))
    assert found[10] >= found[0] and found[10] >= len(truth) // 2
    run("tools/copy_detect.py", "query", "--index", index, "--queries", bench / "queries",
        "--out", tmp_path / "alike.csv", "--verify-top", 10, "--references", bench / "references")
    with open(tmp_path / "alike.csv", newline="") as handle:   # the most alike frame of the video
        assert sum((r["query_id"], r["reference_id"]) in truth for r in csv.DictReader(handle)) >= found[10]
    Path(f"{index}.orb.npz").unlink()
    done = subprocess.run([sys.executable, "tools/copy_detect.py", "query", "--index", str(index),
                           "--queries", str(bench / "queries"), "--out", str(tmp_path / "p.csv"),
                           "--verify-top", "5"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode != 0 and "refs.index.orb.npz" in done.stderr


def test_placed_query_skips_what_the_index_skipped_and_names_a_frame_broken_since(bench, tmp_path):
    """query --references places queries only on the frames the index holds: a reference
    the index skipped as corrupt is never an answer; one broken after indexing is refused
    by name, and the predictions already written stay as they were."""
    import shutil

    references = tmp_path / "refs"
    shutil.copytree(bench / "references", references)
    names = sorted(path.name for path in references.iterdir())
    (references / names[1]).write_bytes(b"not a jpeg")
    torch.manual_seed(0)
    save_descriptor(CopyDescriptor((8, 8, 16, 16), 16, 32), tmp_path / "d.pt")
    index = tmp_path / "refs.index"
    run("tools/copy_detect.py", "index", "--references", references, "--out", index,
        "--model", tmp_path / "d.pt", "--verify")
    query = ["tools/copy_detect.py", "query", "--index", index, "--queries", bench / "queries",
             "--verify-top", 10, "--references", references]
    run(*query, "--out", tmp_path / "p.csv")
    written = (tmp_path / "p.csv").read_text()
    answers = [row["reference_id"] for row in csv.DictReader(written.splitlines())]
    assert answers and names[1] not in answers
    for name in names:
        if name != names[1]:
            (references / name).write_bytes(b"broken since")
    done = subprocess.run([sys.executable, *map(str, query), "--out", str(tmp_path / "p.csv")],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode != 0 and "reference frame" in done.stderr and str(references) in done.stderr
    assert (tmp_path / "p.csv").read_text() == written


def test_query_without_the_describer_file_names_it(bench, tmp_path):
    done = subprocess.run([sys.executable, "tools/copy_detect.py", "query", "--index", str(tmp_path / "none"),
                           "--queries", str(bench / "queries"), "--out", str(tmp_path / "p.csv")],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode != 0 and "none.describer.json" in done.stderr


def test_trace_names_the_source_video_and_its_id(bench, tmp_path):
    """A learned index (random weights) with keypoints: each query is verified and placed
    on the frames of its best video, so most copies name their exact reference frame."""
    torch.manual_seed(0)
    save_descriptor(CopyDescriptor((8, 8, 16, 16), 16, 32), tmp_path / "d.pt")
    index = tmp_path / "refs.index"
    run("tools/copy_detect.py", "index", "--references", bench / "references", "--out", index,
        "--model", tmp_path / "d.pt", "--verify")
    run("tools/trace.py", "--index", index, "--references", bench / "references", "--queries",
        bench / "queries", "--out", tmp_path / "trace", "--verify-top", 10, "--exact-frame")
    traces = json.loads((tmp_path / "trace" / "traces.json").read_text())
    sources = json.loads(Path(f"{index}.ids.json").read_text())["videos"]
    references = {r["reference_id"]: r for r in read_csv(bench / "references.csv")}
    assert len(traces) == len(read_csv(bench / "queries.csv"))
    assert set(sources) == {r["video"] for r in references.values()}
    for row in traces:
        if row["reference"]:
            assert row["video"] == references[row["reference"]]["video"]
            assert row["source_id"] == sources[row["video"]]["id"]
            assert row["agrees"] == (row["query_id"] == row["source_id"])
    truth = {t["query_id"]: t["reference_id"] for t in read_csv(bench / "ground_truth.csv")}
    found = [r for r in traces if r["query"] in truth and r["reference"]]
    assert found and sum(references[truth[r["query"]]]["video"] == r["video"] for r in found) >= len(found) // 2
    assert sum(truth[r["query"]] == r["reference"] for r in found) >= len(found) // 2


def test_folders_are_described_in_batches_with_the_same_result(bench, tmp_path):
    """frame_batches holds one batch in memory; an index built 3 frames at a time equals
    one built in a single batch, and an unreadable file is reported once, by name."""
    from copydetect.search import frame_batches, load_search_index, save_search_index

    folder = tmp_path / "refs"
    folder.mkdir()
    for path in sorted((bench / "references").iterdir())[:7]:
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    batches = list(frame_batches(folder, batch=3, progress=False))
    assert [len(b.names) for b in batches] == [2, 3, 2]   # 8 files; broken.jpg sorts first
    assert [entry["name"] for b in batches for entry in b.skipped] == ["broken.jpg"]
    save_search_index(tmp_path / "small.index", folder, "phash", batch=3)
    save_search_index(tmp_path / "whole.index", folder, "phash", batch=100)
    small, whole = load_search_index(tmp_path / "small.index")[1], load_search_index(tmp_path / "whole.index")[1]
    assert small.ids == whole.ids and len(small.ids) == 7
    query = next(frame_batches(folder, progress=False)).images[:2]
    codes = Describer("phash").vectors(query)
    assert small.search(codes, k=3)[1] == whole.search(codes, k=3)[1]


def test_reference_ids_are_read_again_when_the_recogniser_changes(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from pipeline import trace
    from ppocr_ext.consensus import Consensus

    model = tmp_path / "model.onnx"
    model.write_bytes(b"release 1")
    reads = []
    reader = SimpleNamespace(k=3, recognizer=SimpleNamespace(name=str(model), charset=list("ab")),
                             read_folder=lambda folder, **_: reads.append(folder) or
                             SimpleNamespace(readings=[], posteriors=[]))
    monkeypatch.setattr(trace, "consensus_by_video", lambda *_, **__: {
        "vid": Consensus(f"id{len(reads)}", 0.0, [(f"id{len(reads)}", 1.0)], 2)})
    index = tmp_path / "refs.index"
    assert trace.reference_ids(reader, "refs", index, progress=False)["vid"]["id"] == "id1"
    assert trace.reference_ids(reader, "refs", index, progress=False)["vid"]["id"] == "id1"
    assert len(reads) == 1                                     # the cache answered
    model.write_bytes(b"release 2, retrained")                 # a new release, same path
    assert trace.reference_ids(reader, "refs", index, progress=False)["vid"]["id"] == "id2"
    assert len(reads) == 2
