"""The Ray bench splits a reader's time into a fixed start-up and the steady rate a job of
millions of frames sees (issue #20 item 2), and its report says which overhead is which."""
import pytest

from pipeline.scale_bench import steady_rate, to_markdown


def test_two_runs_give_the_marginal_rate_and_the_fixed_start_up():
    # 10 s of start-up, then 50 frames/s: 1,000 frames in 30 s, 3,000 in 70 s
    assert steady_rate(1000, 30.0, 3, 70.0) == {"marginal_frames_per_second": 50.0,
                                                "fixed_seconds": 10.0}
    with pytest.raises(ValueError, match="repeats >= 2"):
        steady_rate(1000, 30.0, 1, 70.0)
    with pytest.raises(ValueError, match="longer repeated run"):
        steady_rate(1000, 30.0, 3, 29.0)


def test_the_report_states_the_steady_and_the_whole_run_overhead():
    run = {"frames": 1000, "seconds": 30.0, "frames_per_second": 33.3,
           "repeated": {"frames": 3000, "seconds": 70.0, "frames_per_second": 42.9},
           **steady_rate(1000, 30.0, 3, 70.0)}
    text = to_markdown({"command": "bench_scale.py --frames f", "date": "d", "machine": {},
                        "frames": "f", "cores": 2, "repeats": 3,
                        "single_process": {"frames": 1000, "seconds": 18.0, "frames_per_second": 55.6},
                        "ray": {"2x1": run}, "best_ray": "2x1", "overhead": 0.1,
                        "overhead_whole_run": 0.401, "per_core_frames_per_second": 25.0,
                        "node_cores": 32, "nodes_for_10M_per_hour": 4})
    assert "| Ray Data, 2 actor(s) x 1 thread(s), read once / 3 times | 1000 / 3000 | " in text
    assert "| 50.0 | 10.0 |" in text
    assert "steady state: 10.0%" in text and "start-up included: 40.1%" in text
    assert "**4 such nodes**" in text
