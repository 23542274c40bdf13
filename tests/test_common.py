"""The kernel's small shared pieces: one spelling of a report's command line and of its
machine, one set of image suffixes, one override parser for both kinds of config."""
from pathlib import Path

import pytest

from common.command import command_line, report_file
from common.config import ConfigError, flatten_overrides, parse_override
from common.hardware import describe_machine, machine
from common.images import IMAGE_SUFFIXES, is_image_file


def test_a_reports_command_is_what_a_user_types_from_the_project_root():
    assert command_line("bench_rec.py", ["--note", "test run", "--k", "3"]) == \
        "python tools/bench_rec.py --note 'test run' --k 3"
    assert command_line("bench_aug.py", []) == "python tools/bench_aug.py"


def test_reports_whose_names_differ_after_a_dot_get_files_of_their_own():
    assert report_file(Path("bench/margin_0.015"), ".md") == Path("bench/margin_0.015.md")
    assert report_file(Path("bench/margin_0.0"), ".md") == Path("bench/margin_0.0.md")
    assert report_file(Path("bench/release"), ".json") == Path("bench/release.json")


def test_the_machine_line_names_what_it_knows():
    info = machine()
    assert info["cores"] >= 1 and info["torch"] and info["cpu"]
    line = describe_machine(info)
    assert line.startswith(f"{info['cpu']}, {info['cores']} cores") and "load average" in line
    # an older report's machine, without bf16 flag or load average
    assert describe_machine({"cpu": "cpu", "cores": 2, "torch": "2.13.0", "torch_threads": 1}) == \
        "cpu, 2 cores, torch 2.13.0 on 1 threads"


def test_one_set_of_image_suffixes_any_case():
    assert {".jpg", ".png", ".webp", ".tif"} <= IMAGE_SUFFIXES
    assert is_image_file("a/B_1_.JPG") and not is_image_file("labels.txt")


def test_overrides_parse_alike_for_both_configs():
    assert parse_override("train.partner_strips=[3, 8]") == ("train.partner_strips", [3, 8])
    assert parse_override("Global.epoch_num = 5") == ("Global.epoch_num", 5)
    with pytest.raises(ConfigError, match="KEY=VALUE.*key=value"):
        parse_override("train.steps")
    assert flatten_overrides([["a=1", "b=2"], ["c=3"]]) == ["a=1", "b=2", "c=3"]
    assert flatten_overrides(None) == []
