"""Peers benchmark: the issue's scoring rule, the adapters on a clean rendered line
(skipped where a peer is not installed), and the report a run writes."""
import json
import sys

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline import peers
from pipeline.peers import (RapidOcrPeer, bench_peers_main, TesseractPeer, id_inside_a_line, load_peers,
                            normalise_line, peer_reads_id, spread)

FONT = "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"


@pytest.mark.parametrize("line", ["抖音号:ABC123xyz", "抖音号：ABC123xyz", "抖音号 : ABC 123 xyz",
                                  "ABC123xyz", " ABC-123_xyz. ", "抖音号：ＡＢＣ１２３ｘｙｚ"])
def test_normalise_line_strips_prefix_colons_spaces_and_folds_full_width(line):
    assert normalise_line(line) == "ABC123xyz"


def test_normalise_line_drops_a_misread_prefix_of_cjk_symbols():
    # RapidOCR on a low-resolution frame: the prefix misread, the ID right
    assert normalise_line("持留号：JP0fAD3BaTp") == "JP0fAD3BaTp"


def test_reads_id_is_exact_and_case_sensitive():
    assert peer_reads_id(["抖音", "抖音号：Il0O5S"], "Il0O5S")
    assert not peer_reads_id(["抖音号：lI0O5S"], "Il0O5S")
    assert not peer_reads_id(["抖音号：il0o5s"], "Il0O5S")
    assert not peer_reads_id(["抖音号：Il0O5"], "Il0O5S")
    assert not peer_reads_id([], "Il0O5S")


def test_junk_glued_to_the_id_is_not_a_read_but_is_inside_a_line():
    lines = ["#18: JP0fAD3BaTp"]  # Tesseract turning the prefix into Latin junk
    assert not peer_reads_id(lines, "JP0fAD3BaTp")
    assert id_inside_a_line(lines, "JP0fAD3BaTp")
    assert not id_inside_a_line(lines, "jp0fAD3BaTp")


def test_spread_takes_evenly_spaced_items():
    assert spread(list(range(10)), 3) == [0, 3, 6]
    assert spread(list(range(4)), None) == [0, 1, 2, 3]
    assert spread(list(range(4)), 9) == [0, 1, 2, 3]


def test_missing_peers_are_reported_not_raised(monkeypatch):
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)  # import fails
    monkeypatch.setattr(peers.shutil, "which", lambda name: None)
    loaded = load_peers(["rapidocr", "tesseract"])
    assert loaded == {"rapidocr": "rapidocr-onnxruntime not installed (run make setup-peers)",
                      "tesseract": "tesseract not installed (run make setup-peers)"}
    with pytest.raises(ValueError, match="unknown peer 'easyocr'"):
        load_peers(["easyocr"])


def clean_line(text: str) -> np.ndarray:
    """White text on black at 40 px: any working OCR engine reads it."""
    image = Image.new("RGB", (320, 80), "black")
    ImageDraw.Draw(image).text((20, 15), text, font=ImageFont.truetype(FONT, 40), fill="white")
    return cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)


def ready(peer_class):
    try:
        return peer_class(threads=1)
    except peers.PeerUnavailable as err:
        pytest.skip(str(err))


@pytest.mark.parametrize("peer_class", [RapidOcrPeer, TesseractPeer])
def test_installed_peer_reads_a_clean_line(peer_class):
    peer = ready(peer_class)
    assert peer_reads_id(peer.read_lines(clean_line("ABC123xyz")), "ABC123xyz")
    assert peer.version().startswith(("rapidocr-onnxruntime 1.", "tesseract 5."))


class EchoPeer:
    """Reads every image as the same line, so the expected score is known exactly."""
    name = "echo"

    def __init__(self, threads=1):
        pass

    def version(self):
        return "echo 1"

    def read_lines(self, image):
        return ["抖音号：ABC123xyz"]


class AbsentPeer:
    name = "absent"

    def __init__(self, threads=1):
        raise peers.PeerUnavailable("absent not installed (run make setup-peers)")


def test_bench_writes_report_with_scores_command_and_unavailable_peer(tmp_path, monkeypatch):
    monkeypatch.setattr(peers, "PEERS", {"echo": EchoPeer, "absent": AbsentPeer})
    frames = tmp_path / "test"
    frames.mkdir()
    for name in ("v1_0_.jpg", "v1_1_.jpg", "v2_0_.jpg"):
        cv2.imwrite(str(frames / name), clean_line("x"))
    labels = tmp_path / "labels.txt"
    labels.write_text("v1_0_.jpg\tABC123xyz\nv1_1_.jpg\tabc123xyz\nv2_0_.jpg\tABC123xy\n")
    out = tmp_path / "bench" / "peers"
    argv = ["--frames", str(frames), "--labels", str(labels), "--peers", "echo", "absent",
            "--out", str(out)]
    bench_peers_main(argv)
    report = json.loads((tmp_path / "bench" / "peers.json").read_text())
    result = report["peers"]["echo"]["results"]["full frames"]
    assert (result["images"], result["exact"], result["id_inside_a_line"]) == (3, 1, 2)
    assert report["peers"]["absent"] == {"unavailable": "absent not installed (run make setup-peers)"}
    assert report["command"].startswith("python tools/bench_peers.py --frames")
    assert report["machine"]["cores"] >= 1
    md = (tmp_path / "bench" / "peers.md").read_text()
    assert "| echo | echo 1 | full frames | 3 | 0.333 (1) | 2 | 0 |" in md
    assert "absent not installed (run make setup-peers)" in md
    assert (tmp_path / "bench" / "peers.json").stat().st_mode & 0o044 == 0o044  # others can read


def test_bench_names_the_label_file_when_a_labelled_frame_is_missing(tmp_path):
    frames = tmp_path / "test"
    frames.mkdir()
    labels = tmp_path / "labels.txt"
    labels.write_text("gone_0_.jpg\tABC123xyz\n")
    with pytest.raises(FileNotFoundError, match="labels.txt: 1 labelled frames missing"):
        bench_peers_main(["--frames", str(frames), "--labels", str(labels), "--out", str(tmp_path / "p")])
