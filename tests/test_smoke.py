"""The install works: the engine imports through our shim and the dictionary is right."""
import string
from pathlib import Path

from ppocr_ext.engine import load_engine

DICT = Path(__file__).resolve().parents[1] / "common" / "dicts" / "id62.txt"


def test_dictionary_is_the_62_symbol_alphabet():
    symbols = DICT.read_text().split("\n")[:-1]
    assert symbols == list(string.digits + string.ascii_uppercase + string.ascii_lowercase)


def test_engine_metrics_import_after_shim():
    load_engine()
    import openrec.metrics  # noqa: F401  (fails without the CMER stub)
