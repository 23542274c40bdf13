"""The ambiguity report counts confusions and forgives exactly the pairs it names."""
import pytest

from ppocr_ext.ambiguity import ambiguity_report, confusion_pairs, forgiven_accuracy

PAIRS = [
    ("abcIx", "abclx"),   # I/l
    ("lll0", "IIl0"),     # I/l twice
    ("S5O", "55O"),       # S/5
    ("same", "same"),
    ("short", "shor"),    # deletion, not a confusion
]


def test_substitutions_are_counted_as_unordered_pairs():
    counts = confusion_pairs(PAIRS)
    assert counts[("I", "l")] == 3
    assert counts[("5", "S")] == 1
    assert sum(counts.values()) == 4


def test_forgiving_a_pair_fixes_only_the_frames_it_explains():
    assert forgiven_accuracy(PAIRS, []) == pytest.approx(1 / 5)
    assert forgiven_accuracy(PAIRS, [("I", "l")]) == pytest.approx(3 / 5)
    assert forgiven_accuracy(PAIRS, [("I", "l"), ("5", "S")]) == pytest.approx(4 / 5)


def test_forgiven_classes_are_transitive():
    # forgiving I/l and l/1 makes I and 1 equal too
    assert forgiven_accuracy([("I", "1")], [("I", "l"), ("l", "1")]) == 1.0


def test_report_is_cumulative_and_ranked():
    report = ambiguity_report(PAIRS)
    assert report["exact_match"] == pytest.approx(0.2)
    assert report["confusions"][0] == {"pair": "I/l", "count": 3}
    accs = [row["accuracy"] for row in report["forgiven_cumulative"]]
    assert accs == sorted(accs)
    assert accs[-1] == pytest.approx(0.8)


def test_empty_input_is_an_error():
    with pytest.raises(ValueError):
        ambiguity_report([])
