"""The glyph-ambiguity observer: glyphs that render the same are a coin flip, distinct
shapes are never confused, the shrink takes information away, the ceiling's arithmetic,
the template grid covers every nuisance, and the size shares follow the generator's draw."""
import json

import numpy as np
import pytest

from synth.fonts import resolve_fonts
from synth.glyph_ambiguity import (CONDITIONS, GlyphRenderer, corrupt, exact_ceiling, observe, observe_corrupted,
                                   top_confusions)
from synth.glyph_bench import bench_glyphs_main, size_weights
from synth.watermark import sample_style


@pytest.fixture(scope="module")
def liberation_bold_12():
    face, path = resolve_fonts(["liberation-sans-bold"]).latin[0]
    return GlyphRenderer(path, 12, face.index)


class GlyphBlind(GlyphRenderer):
    """Draws the neighbours but leaves the middle slot empty: every symbol renders the same."""

    def draw(self, left, glyph, right, background, phase):
        return super().draw(left, " ", right, background, phase)


def test_glyphs_that_render_the_same_are_a_coin_flip():
    face, path = resolve_fonts(["liberation-sans"]).latin[0]
    counts = observe(GlyphBlind(path, 14, face.index), CONDITIONS["train"], np.random.default_rng(0),
                     contexts=1, observations=2, alphabet="aW")
    np.testing.assert_allclose(counts, [[1.0, 1.0], [1.0, 1.0]])
    assert exact_ceiling(counts) == pytest.approx(np.mean([0.5 ** n for n in range(8, 16)]))


def test_distinct_shapes_survive_the_test_chain(liberation_bold_12):
    counts = observe(liberation_bold_12, CONDITIONS["test"], np.random.default_rng(1),
                     contexts=1, observations=3, alphabet="Wo7")
    np.testing.assert_allclose(counts, np.diag([3.0, 3.0, 3.0]))
    assert top_confusions(counts, "Wo7") == []


def test_the_shrink_brings_I_and_l_together():
    """Liberation Sans at 13 px: I and l differ plainly at train resolution; shrunk 1/2.45
    through the test chain's JPEGs they are read for each other."""
    face, path = resolve_fonts(["liberation-sans"]).latin[0]
    renderer = GlyphRenderer(path, 13, face.index)
    train = observe(renderer, CONDITIONS["train"], np.random.default_rng(2), 3, 3, alphabet="Il")
    small = observe(renderer, CONDITIONS["test_2.45"], np.random.default_rng(2), 3, 3, alphabet="Il")
    assert train[0, 1] + train[1, 0] == 0.0
    assert small[0, 1] + small[1, 0] > 0.0
    assert top_confusions(small, "Il")[0][0] == "I/l"


def test_corrupted_observations_share_the_clean_draws_and_jpeg_10_takes_glyphs():
    """Without corruptions the observer draws what it always drew (the clean counts come
    out the same); a screenshot re-saved at JPEG quality 10 (severity 3) loses glyphs the
    test chain had left apart, on the same observations."""
    face, path = resolve_fonts(["liberation-sans"]).latin[0]
    renderer = GlyphRenderer(path, 13, face.index)
    clean = observe(renderer, CONDITIONS["test"], np.random.default_rng(3), 2, 3, alphabet="Il1i")
    both = observe_corrupted(renderer, CONDITIONS["test"], np.random.default_rng(3), ("jpeg",), 3, 2, 3,
                             alphabet="Il1i")
    np.testing.assert_array_equal(both[None], clean)
    assert both["jpeg"].sum() == clean.sum() and np.trace(both["jpeg"]) < np.trace(clean) - 2


def test_one_draw_of_a_corruption_serves_every_patch():
    """The observer's templates and observations see the same kernel, direction and angle:
    identical patches stay identical; rain, fog and perspective are sized by the whole frame
    and refused."""
    patch = np.full((12, 30), 90, np.uint8)
    patch[3:9, 10:13] = 245
    for name in ("motion blur", "defocus blur", "rotation", "jpeg"):
        out = corrupt(np.stack([patch, patch, patch]), name, 2, seed=4, negate=True, background=90)
        assert out.shape == (3, 12, 30) and (out[0] == out[1]).all() and (out[1] == out[2]).all()
        assert not (out[0] == patch).all()
    for name in ("rain", "fog", "perspective"):
        with pytest.raises(ValueError, match=name):
            corrupt(patch[None], name, 2, seed=0, negate=False, background=90)


def test_ceiling_arithmetic():
    counts = np.array([[3.0, 1.0], [0.0, 4.0]])          # symbol accuracies 0.75 and 1.0
    assert exact_ceiling(counts) == pytest.approx(np.mean([0.875 ** n for n in range(8, 16)]))
    assert top_confusions(counts, "Il") == [("I/l", 1 / 8)]


def test_the_grid_spans_every_nuisance():
    grid = CONDITIONS["test"].grid()
    qualities, videos, shrinks = (sorted({g[i] for g in grid}) for i in range(3))
    assert videos[0] == 60 and videos[-1] == 92 and qualities[0] == 35 and qualities[-1] == 75
    assert shrinks == [False, True]
    assert CONDITIONS["train"].grid() == [(q, None, False) for q in (75, 80, 85, 90, 95)]


def test_size_shares_match_the_generator():
    fonts = resolve_fonts()
    rng = np.random.default_rng(3)
    drawn = [sample_style(rng, 360, 640, fonts).size for _ in range(4000)]
    weights = size_weights(360)
    assert sum(weights.values()) == pytest.approx(1.0)
    for size, share in weights.items():
        assert drawn.count(size) / len(drawn) == pytest.approx(share, abs=0.03)
    assert set(drawn) <= set(weights)
    assert 17 not in size_weights(360, least=0.02) and sum(size_weights(360, 0.02).values()) == pytest.approx(1.0)


def test_bench_writes_its_command_and_ceiling(tmp_path, monkeypatch):
    import synth.glyph_bench as bench
    monkeypatch.setattr(bench, "size_weights", lambda short_side, least: {14: 1.0})
    summaries = bench_glyphs_main(["--conditions", "train", "--contexts", "1", "--observations", "1",
                                   "--out", str(tmp_path / "glyphs")])
    report = (tmp_path / "glyphs.md").read_text()
    assert "python tools/bench_glyphs.py --conditions train" in report
    assert 0.0 <= summaries["train"]["ceiling"] <= 1.0
    saved = json.loads((tmp_path / "glyphs.json").read_text())
    assert len(saved["rows"]) == 6 and saved["rows"][0]["observations_per_symbol"] == 1.0
    assert all(">" in key for row in saved["rows"] for key in row["misreads"])


def test_bench_reads_under_corruptions_beside_the_chain(tmp_path, monkeypatch):
    import synth.glyph_bench as bench
    monkeypatch.setattr(bench, "size_weights", lambda short_side, least: {14: 1.0})
    summaries = bench_glyphs_main(["--conditions", "test", "--contexts", "1", "--observations", "1",
                                   "--corruptions", "jpeg", "--severity", "3", "--out", str(tmp_path / "g")])
    report = (tmp_path / "g.md").read_text()
    assert "| corruption | ceiling | drop |" in report and "| jpeg | " in report
    assert summaries["test"]["corruptions"]["jpeg"]["ceiling"] < summaries["test"]["ceiling"]
    saved = json.loads((tmp_path / "g.json").read_text())
    assert {row["corruption"] for row in saved["rows"]} == {None, "jpeg"} and saved["severity"] == 3.0


def test_misreads_name_truth_then_reading():
    from synth.glyph_bench import misreads
    assert misreads(np.array([[3.0, 1.0], [0.0, 4.0]]), "Il") == {"I>l": 1.0}


def test_held_out_faces_are_named_by_file_where_a_family_has_several():
    from synth.frames import domain_fonts
    from synth.glyph_bench import face_names
    names = face_names(domain_fonts("heldout"))
    assert len(set(names)) == len(names) and "Lato-Light" in names
    assert face_names(domain_fonts("demo"))[0] == "liberation-sans"
