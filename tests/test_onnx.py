"""An exported recogniser read by onnxruntime agrees with torch, carries everything it
needs in one file, and plugs in wherever a torch recogniser does."""
import json

import cv2

import numpy as np
import torch
import pytest

from ppocr_ext.ctc import greedy_reading
from common.onnx_io import OnnxExportError
from localization.onnx_export import LOCALIZER_KEY
from pipeline.export_onnx import export_onnx_main
from ppocr_ext.onnx_export import export_recognizer
from ppocr_ext.posteriors import load_onnx_recognizer, load_recognizer, load_torch_recognizer
from ppocr_ext.rec_config import ConfigError
from rec_fixtures import WORDS, one_torch_thread, render_crop  # noqa: F401 (autouse)
from tiny_model import make_tiny_model


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("onnx")
    config, weights = make_tiny_model(folder)
    torch_recognizer = load_torch_recognizer(config, weights)
    path = export_recognizer(torch_recognizer, folder / "export" / "tiny.onnx")
    return torch_recognizer, path


def crops():
    """Encoded files and decoded BGR arrays of different sizes, mixed."""
    files = [render_crop(WORDS[i % 4], i) for i in range(7)]
    rng = np.random.default_rng(3)
    arrays = [rng.integers(0, 256, (24 + 4 * i, 90 + 20 * i, 3), dtype=np.uint8) for i in range(3)]
    return files + arrays


def test_onnx_and_torch_read_the_same_strings(exported):
    torch_recognizer, path = exported
    onnx_recognizer = load_onnx_recognizer(path)
    assert [p.name for p in path.parent.iterdir()] == ["tiny.onnx"]   # one file, no .data
    assert onnx_recognizer.charset == torch_recognizer.charset
    expected, got = torch_recognizer(crops()), onnx_recognizer(crops(), batch_size=4)
    assert got.shape == expected.shape == (10, 16, 63)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    texts = [greedy_reading(p, torch_recognizer.charset).text for p in expected]
    assert [greedy_reading(p, onnx_recognizer.charset).text for p in got] == texts
    assert any(texts)   # the sharpened random model reads something
    # batch size does not change the result (dynamic batch dimension)
    np.testing.assert_allclose(onnx_recognizer(crops()[:1]), got[:1], atol=1e-5)


def test_onnx_model_is_a_drop_in_model_for_the_tools(exported):
    _, path = exported
    recognizer = load_recognizer([str(path)])
    assert recognizer.spec["algorithm"] == "SVTR" and recognizer.source["weights"].endswith("tiny.pth")
    with pytest.raises(ConfigError, match="CONFIG.yml WEIGHTS.pth or one MODEL.onnx"):
        load_recognizer([str(path), "a", "b"])


def test_metadata_keys_of_earlier_exports_are_kept():
    """Files exported before the export code moved (out of ppocr_ext.onnx_export) are
    read by these keys: they must never change."""
    from ppocr_ext import posteriors
    assert posteriors.SPEC_KEY == "ppocr_ext.inference_spec"
    assert posteriors.SOURCE_KEY == "ppocr_ext.source"
    assert (posteriors.INPUT_NAME, posteriors.OUTPUT_NAME) == ("image", "probs")
    assert LOCALIZER_KEY == "ppocr_ext.localizer"


def test_foreign_or_missing_files_are_refused(tmp_path, exported):
    with pytest.raises(OnnxExportError, match="not found"):
        load_onnx_recognizer(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(OnnxExportError, match="junk.onnx"):
        load_onnx_recognizer(tmp_path / "junk.onnx")
    torch_recognizer, _ = exported
    with pytest.raises(OnnxExportError, match="must end in .onnx"):
        export_recognizer(torch_recognizer, tmp_path / "model.bin")


def test_export_tool_checks_onnx_against_torch(exported, tmp_path, capsys):
    torch_recognizer, _ = exported
    config = torch_recognizer.recognizer.weights.replace("tiny.pth", "tiny.yml")
    check = export_onnx_main(["-c", config, "--weights", torch_recognizer.recognizer.weights,
                              "--out", str(tmp_path / "cli.onnx")])
    assert check["same_strings"] == check["crops"] == 16 and check["max_abs_diff"] < 1e-4
    assert "same string on 16" in capsys.readouterr().out


def test_an_int8_copy_keeps_the_metadata_and_reads_close_to_fp32(exported, tmp_path):
    """The quantised model is a drop-in model (its own spec and dictionary), smaller, and
    its posteriors stay near the fp32 export's; the export tool writes it beside --out."""
    from common.onnx_io import quantize_int8
    torch_recognizer, path = exported
    int8 = load_onnx_recognizer(quantize_int8(path, tmp_path / "tiny.int8.onnx"))
    fp32 = load_onnx_recognizer(path)
    assert int8.spec == fp32.spec and int8.charset == fp32.charset
    assert (tmp_path / "tiny.int8.onnx").stat().st_size < 0.6 * path.stat().st_size
    a, b = fp32(crops()), int8(crops())
    assert a.shape == b.shape and np.abs(a - b).max() < 0.2 and not np.array_equal(a, b)
    with pytest.raises(OnnxExportError, match="must end in .onnx"):
        quantize_int8(path, tmp_path / "model.bin")
    config = torch_recognizer.recognizer.weights.replace("tiny.pth", "tiny.yml")
    check = export_onnx_main(["-c", config, "--weights", torch_recognizer.recognizer.weights,
                              "--out", str(tmp_path / "cli.onnx"), "--int8"])
    assert (tmp_path / "cli.int8.onnx").is_file() and check["int8"]["crops"] == 16


def test_localizer_networks_export_with_dynamic_sizes(tmp_path):
    import onnxruntime as ort
    import torch

    from localization import ddt, model
    from localization.onnx_export import check_localizer, export_localizer
    torch.manual_seed(0)
    classifier, regressor = model.StripClassifier().eval(), model.BoxRegressor().eval()
    line_head = model.LineHead(line_height=0.033).eval()
    rng = np.random.default_rng(0)
    projection = ddt.DDTProjection(rng.normal(size=64).astype(np.float32),
                                   rng.normal(size=64).astype(np.float32))
    paths = export_localizer(classifier, projection, tmp_path, regressor, {"strip_height": 32},
                             line_head=line_head)
    assert [p.name for p in paths] == ["strip_classifier.onnx", "box_regressor.onnx"]
    assert check_localizer(paths, classifier, projection, regressor, line_head=line_head) < 1e-4
    meta = ort.InferenceSession(str(paths[0])).get_modelmeta().custom_metadata_map
    assert json.loads(meta[LOCALIZER_KEY])["line_height"] == 0.033   # the ID-line cut's floor
    # the baked-in maps are what the Locator computes from the descriptors
    image = rng.uniform(-0.5, 0.5, (2, 1, 64, 200)).astype(np.float32)
    logit, heatmap, score_map, line = ort.InferenceSession(str(paths[0])).run(None, {"image": image})
    with torch.no_grad():
        features = classifier.features(torch.from_numpy(image))
        expected = projection.heatmap(features)
        np.testing.assert_allclose(heatmap, expected, atol=1e-5 * np.abs(expected).max())
        np.testing.assert_allclose(logit, classifier.score(features).numpy(), rtol=1e-4, atol=1e-4)
        for got, want in ((score_map, classifier.score_map(features)), (line, line_head(features))):
            np.testing.assert_allclose(got, want.numpy(), atol=1e-4 * max(1.0, np.abs(want.numpy()).max()))
    # band widths whose adaptive pooling the exporter gets wrong unless written out exactly
    session = ort.InferenceSession(str(paths[1]))
    for width in (104, 248, 392):
        band = rng.uniform(-0.5, 0.5, (2, 1, 32, width)).astype(np.float32)
        with torch.no_grad():
            expected = regressor(torch.from_numpy(band)).numpy()
        np.testing.assert_allclose(session.run(None, {"band": band})[0], expected, atol=1e-5)


def test_attention_recognisers_are_refused_before_building(tmp_path):
    from rec_fixtures import CONFIGS
    weights = tmp_path / "sar.pth"
    weights.write_bytes(b"never read")
    with pytest.raises(ConfigError, match="posteriors need a CTC recogniser"):
        load_torch_recognizer(CONFIGS / "sar_r31.yml", weights)


def test_the_torch_reader_runs_svtr_attention_fused(exported, monkeypatch):
    """The frame reader reads like tools/infer_rec.py: SVTR's attention through torch's
    fused kernel (ppocr_ext.engine.fused_attention), switched off again afterwards."""
    from ppocr_ext import engine

    torch_recognizer, path = exported
    calls = []
    fused = torch.nn.functional.scaled_dot_product_attention
    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention",
                        lambda *args, **kwargs: calls.append(1) or fused(*args, **kwargs))
    probs = torch_recognizer(crops())
    assert calls and not engine._fused_attention
    np.testing.assert_allclose(probs, load_onnx_recognizer(path)(crops()), atol=1e-4)


def test_a_sliver_cut_by_the_pipeline_is_read_but_a_sliver_file_is_refused(exported):
    """The localiser's line on a frame under salt-and-pepper noise was 367x8 (46:1) and
    the aspect check meant for users' crop files stopped the whole folder."""
    from common.images import BadImage
    torch_recognizer, _ = exported
    sliver = np.random.default_rng(0).integers(0, 256, (8, 367, 3), dtype=np.uint8)
    assert torch_recognizer([sliver]).shape == (1, 16, 63)
    with pytest.raises(BadImage, match="crop 0: .*aspect ratio 46:1"):
        torch_recognizer([cv2.imencode(".png", sliver)[1].tobytes()])
    with pytest.raises(BadImage, match="crop 0: array of shape"):
        torch_recognizer([np.zeros((0, 5, 3), np.uint8)])
