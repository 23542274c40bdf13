"""A run ends when its process tree has used its CPU budget, children included; the
ledger maps any moment of the run to CPU-minutes and carries the budget across a rerun
(issue #16's encoder comparison "at the same CPU budget")."""
import sys
from datetime import datetime, timedelta

import pytest

from common.cpu_budget import cpu_minutes_at, read_ledger, run_with_cpu_budget

# A parent that spins in two child processes for ever: only the budget can end it.
SPINNERS = """
import multiprocessing as mp
def spin(_):
    while True:
        pass
if __name__ == "__main__":
    with mp.Pool(2) as pool:
        pool.map(spin, range(2))
"""


def test_the_budget_counts_child_processes_and_ends_the_whole_tree(tmp_path):
    import psutil

    ledger = tmp_path / "cpu.tsv"
    before = {p.pid for p in psutil.process_iter()}
    assert run_with_cpu_budget([sys.executable, "-c", SPINNERS], 0.02, ledger,
                               poll_seconds=0.2) == 0
    rows = read_ledger(ledger)
    assert rows[-1][1] >= 1.2                                    # 0.02 CPU-minutes reached
    assert all(b[1] >= a[1] for a, b in zip(rows, rows[1:]))     # cumulative
    # the pool's workers, which did all the spending, are gone with their parent
    leftover = [p for p in psutil.process_iter(["cmdline"])
                if p.pid not in before and "spin" in " ".join(p.info["cmdline"] or [])]
    assert leftover == []
    # a rerun continues the count: the budget is already spent, nothing runs
    assert run_with_cpu_budget([sys.executable, "-c", "raise SystemExit(3)"], 0.02, ledger) == 0
    # with budget left, the command runs and its own exit status comes back
    assert run_with_cpu_budget([sys.executable, "-c", "raise SystemExit(3)"], 10, ledger) == 3


def test_a_log_timestamp_maps_to_cpu_minutes_between_ledger_rows(tmp_path):
    t0 = datetime(2026, 12, 6, 12, 0, 0)
    ledger = [(t0, 0.0), (t0 + timedelta(seconds=60), 120.0),
              # killed here, resumed an hour later: the count goes on from 120 s
              (t0 + timedelta(hours=1, seconds=60), 121.0), (t0 + timedelta(hours=1, seconds=120), 241.0)]
    assert cpu_minutes_at(ledger, t0 + timedelta(seconds=30)) == pytest.approx(1.0)
    assert cpu_minutes_at(ledger, t0 + timedelta(hours=1, seconds=90)) == pytest.approx(3.02, abs=0.01)
    assert cpu_minutes_at(ledger, t0 + timedelta(hours=1, seconds=130)) == pytest.approx(241 / 60)
    assert cpu_minutes_at(ledger, t0 - timedelta(seconds=1)) is None
    assert cpu_minutes_at(ledger, t0 + timedelta(hours=2)) is None
    assert cpu_minutes_at([], t0) is None


def test_a_damaged_ledger_row_is_named_by_line(tmp_path):
    path = tmp_path / "cpu.tsv"
    path.write_text("2026-12-06T12:00:00\t1.0\nnot a row\n")
    with pytest.raises(ValueError, match=r"cpu.tsv:2:"):
        read_ledger(path)
