"""Run a command until its process tree has used a number of CPU-minutes (see
common/cpu_budget.py); the ledger continues across reruns, so a killed run resumes its budget.

    python tools/cpu_budget.py --cpu-minutes 60 --ledger output/rec/encoders/tiny/cpu.tsv \
        -- python tools/train.py -c configs/rec/svtr_tiny_synth.yml ...
Exit status: the command's, or 0 when the budget ended it.
"""
import argparse
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.cpu_budget import run_with_cpu_budget  # noqa: E402
from common.errors import run_tool  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cpu-minutes", type=float, required=True)
    parser.add_argument("--ledger", type=Path, required=True,
                        help="TSV of <ISO time>\\t<CPU seconds>, appended every poll")
    parser.add_argument("--poll-seconds", type=float, default=2.0)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ...")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command after --")
    return run_with_cpu_budget(command, args.cpu_minutes, args.ledger, args.poll_seconds)


if __name__ == "__main__":
    run_tool(main)
