"""Run a command for a fixed number of CPU-minutes of its process tree, and keep a ledger
of when each CPU-minute was spent.

Why CPU time and not wall time: issue #16 compares encoders "at the same CPU budget". A
wall-clock budget (`timeout 15m`, the first encoder bench) gives an arm fewer steps
whenever anything else runs on the machine's 2 cores, so the arm trained while a test
suite ran lost; the CPU time of the trainer and its data-loader workers does not move
with the load. The ledger (`<ISO time>\t<CPU seconds>` every few seconds, appended) lets a
bench map any timestamp of the run's own log to CPU-minutes (`cpu_minutes_at`), and lets
a resumed run continue the count where the killed one stopped.
"""
from __future__ import annotations

import bisect
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path

import psutil

LEDGER_SLACK = timedelta(seconds=30)   # a log line written after the last poll still counts


def tree_cpu_seconds(proc: psutil.Process) -> float:
    """User + system seconds of `proc`, its reaped children and its live descendants."""
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:        # ended between the listing and the read
            continue
        total += t.user + t.system + (t.children_user + t.children_system if p is proc else 0)
    return total


def read_ledger(path: Path) -> list[tuple[datetime, float]]:
    """The ledger's (time, cumulative CPU seconds) rows, oldest first; [] when absent."""
    if not path.is_file():
        return []
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stamp, _, seconds = line.partition("\t")
        try:
            rows.append((datetime.fromisoformat(stamp), float(seconds)))
        except ValueError as err:
            raise ValueError(f"{path}:{number}: not '<ISO time>\\t<CPU seconds>': {line!r}") from err
    return rows


def cpu_minutes_at(ledger: list[tuple[datetime, float]], when: datetime) -> float | None:
    """CPU-minutes spent by `when`, interpolated between ledger rows; None outside the
    ledger. (Between a killed run's last row and its resumption the count barely moves:
    the resumed run's rows start from the killed run's total.)"""
    if not ledger or when < ledger[0][0] or when > ledger[-1][0] + LEDGER_SLACK:
        return None
    times = [t for t, _ in ledger]
    i = bisect.bisect_left(times, when)
    if i == len(times):
        return ledger[-1][1] / 60
    if times[i] == when:
        return ledger[i][1] / 60
    (t0, c0), (t1, c1) = ledger[i - 1], ledger[i]
    return (c0 + (c1 - c0) * ((when - t0) / (t1 - t0))) / 60


def end_tree(proc: psutil.Process, grace_seconds: float = 30.0) -> None:
    """SIGTERM a process and its descendants (data-loader workers too), SIGKILL whatever
    is left after `grace_seconds`."""
    tree = [proc, *proc.children(recursive=True)]
    for p in tree:
        try:
            p.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(tree, timeout=grace_seconds)
    for p in alive:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass


def run_with_cpu_budget(command: list[str], cpu_minutes: float, ledger: Path,
                        poll_seconds: float = 2.0, cwd: Path | None = None) -> int:
    """Run `command` until it exits or its tree has used `cpu_minutes` (counted on from the
    ledger's last row, so a rerun after a kill continues the budget). Returns the command's
    exit status, or 0 when the budget ended it (`end_tree`)."""
    ledger.parent.mkdir(parents=True, exist_ok=True)
    rows = read_ledger(ledger)
    spent_before = rows[-1][1] if rows else 0.0
    budget = cpu_minutes * 60
    if spent_before >= budget:
        return 0
    child = subprocess.Popen(command, cwd=cwd)
    proc = psutil.Process(child.pid)
    with ledger.open("a", encoding="utf-8") as out:
        while child.poll() is None:
            try:
                last = spent_before + tree_cpu_seconds(proc)
            except psutil.NoSuchProcess:
                break
            out.write(f"{datetime.now().isoformat(timespec='seconds')}\t{last:.1f}\n")
            out.flush()
            if last >= budget:
                end_tree(proc)
                child.wait()
                return 0
            time.sleep(poll_seconds)
    return child.wait()

