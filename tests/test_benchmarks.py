"""Smoke test of benchmarks/run.py: its code paths run on tiny sizes and print the table.

No assertion on timings (the machine is shared; issue 4 keeps timing out of the test suite).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

RUN = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


def run_benchmark(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RUN), *args], capture_output=True, text=True,
                          timeout=120)


def test_list_names_every_case_of_issue_4():
    done = run_benchmark("--list")
    assert done.returncode == 0, done.stderr
    names = done.stdout.split()
    for name in ("mlp-sgd-b32", "mlp-adam-b128", "mlp-sgd-b512", "cnn-sgd-b64",
                 "lstm-sgd-b64", "predict-mlp-1", "predict-cnn-10000", "fit-mlp-sgd-b32"):
        assert name in names


def test_unknown_only_is_refused():
    done = run_benchmark("--only", "transformer")
    assert done.returncode == 2
    assert "matches no case" in done.stderr


def test_quick_mlp_prints_table_and_json(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "results.json"
    done = run_benchmark("--quick", "--only", "mlp-sgd-b128,lstm", "--rounds", "2",
                         "--scale", "0.002", "--json", str(out), "--no-memory")
    assert done.returncode == 0, done.stderr
    assert "x torch" in done.stdout and "median time" in done.stdout
    assert "mlp-sgd-b128 (s/epoch)" in done.stdout
    assert "lstm-sgd-b64 (s/epoch)" in done.stdout          # a row, or "unavailable: why"
    report = json.loads(out.read_text())
    assert report["system"]["threads"] == 2
    case = next(c for c in report["cases"] if c["name"] == "mlp-sgd-b128")
    assert case["samples"] == 120
    torch_side = case["results"]["torch"]
    assert len(torch_side["times"]) == 2 and all(t > 0 for t in torch_side["times"])
    assert torch_side["ratios"] == [1.0, 1.0]
    floor = case["results"]["floor"]
    assert len(floor["times"]) == 2 and floor["floor_ratios"] == [1.0, 1.0]
    glassnet = case["results"]["glassnet"]
    if glassnet["times"]:                                     # same network, same outputs
        assert torch_side["max_abs_dp"] is not None and torch_side["max_abs_dp"] < 1e-4
        assert case["results"]["sklearn"]["max_abs_dp"] < 1e-4
        # the noise-robust figure beside each target: fastest round over fastest round
        check = next(c for c in report["targets"]
                     if c["target"] == "mlp-sgd-b128: glassnet / torch")
        best = min(glassnet["times"]) / min(torch_side["times"])
        assert check["best_over_best"] == pytest.approx(best, abs=1e-3)
        assert "best/best" in done.stdout


def test_fit_case_times_fit_with_its_defaults_against_the_torch_user_loop(tmp_path):
    """Issue 14's end-to-end case: both sides run, on the same initial weights."""
    pytest.importorskip("torch")
    out = tmp_path / "fit.json"
    done = run_benchmark("--only", "fit", "--rounds", "1", "--scale", "0.002", "--json",
                         str(out), "--no-memory")
    assert done.returncode == 0, done.stderr
    assert "fit-mlp-sgd-b32 (s/epoch)" in done.stdout
    case = json.loads(out.read_text())["cases"][0]
    assert case["task"] == "fit" and case["batch"] == 32
    assert [len(case["results"][fw]["times"]) for fw in ("glassnet", "torch")] == [1, 1]
    assert case["results"]["torch"]["max_abs_dp"] < 1e-4


def test_torch_fit_loop_validates_on_the_last_tenth_as_keras_does():
    """With a learning rate of 0 the weights stay put, so the loop's figures must equal the
    loss and accuracy of the first 90% (training) and the last 10% (validation)."""
    torch = pytest.importorskip("torch")
    sys.path.insert(0, str(RUN.parent))
    import _peers

    trainer = _peers.make_trainer("torch", "mlp", "sgd", 32, task="fit")
    trainer.inner.optimizer.param_groups[0]["lr"] = 0.0
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 784), dtype=np.float32)
    y = rng.integers(0, 10, 50)
    logs = trainer.epoch(trainer.prepare(x, y))
    assert _peers.validation_cut(50) == 45
    with torch.no_grad():
        logits = trainer.model(torch.from_numpy(x)).numpy()
    loss = -torch.log_softmax(torch.from_numpy(logits), 1).numpy()[np.arange(50), y]
    hits = logits.argmax(axis=1) == y
    assert logs["loss"] == pytest.approx(loss[:45].mean(), rel=1e-5)
    assert logs["val_loss"] == pytest.approx(loss[45:].mean(), rel=1e-5)
    assert logs["accuracy"] == pytest.approx(hits[:45].mean())
    assert logs["val_accuracy"] == pytest.approx(hits[45:].mean())


def test_memory_probe_reports_a_peak():
    done = run_benchmark("--probe", "mlp-sgd-b32", "floor", "--scale", "0.002")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["peak_mib"] >= 0 and result["rss_before_mib"] > 0


def test_distributed_bound_runs(tmp_path):
    """benchmarks/distributed.py --bound: the in-process compute bound of 2 ranks."""
    out = tmp_path / "bound.json"
    done = subprocess.run([sys.executable, str(RUN.parent / "distributed.py"), "--bound",
                           "--only", "mlp", "--rounds", "1", "--scale", "0.01", "--json",
                           str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert report["mlp"]["one_rank_s"] > 0 and report["mlp"]["efficiency"] > 0


def test_bench_threads_sets_the_thread_count_of_every_side(tmp_path):
    """BENCH_THREADS=1 runs every side on one thread, and says so in the report."""
    pytest.importorskip("torch")
    out = tmp_path / "one.json"
    done = subprocess.run([sys.executable, str(RUN), "--only", "mlp-sgd-b128", "--rounds", "1",
                           "--scale", "0.002", "--no-memory", "--json", str(out)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "BENCH_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["system"]["threads"] == 1
    refused = subprocess.run([sys.executable, str(RUN), "--list"], capture_output=True,
                             text=True, timeout=60, env={**os.environ, "BENCH_THREADS": "0"})
    assert refused.returncode != 0 and "BENCH_THREADS" in refused.stderr


def test_threads_benchmark_runs_every_part(tmp_path):
    """benchmarks/threads.py: epochs in fresh processes at 1 and 2 threads, the update
    after a product on 1 or 2 BLAS threads, and two models trained in two Python threads
    (tiny sizes; timings are not asserted)."""
    pytest.importorskip("torch")
    out = tmp_path / "threads.json"
    done = subprocess.run([sys.executable, str(RUN.parent / "threads.py"), "--only", "mlp",
                           "--rounds", "1", "--repeats", "1", "--scale", "0.002",
                           "--calls", "3", "--steps", "2", "--json", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    threaded = report["python_threads"]["mlp"]
    assert threaded["batch"] == 16 and threaded["sequential"] > 0 and threaded["concurrent"] > 0
    assert threaded["speed_up"] == pytest.approx(threaded["sequential"] / threaded["concurrent"])
    (row,) = report["epochs"]
    assert row["network"] == "mlp" and row["samples"] == 120
    assert all(row[f"{fw}_{t}t"] > 0 for fw in ("glassnet", "torch") for t in (1, 2))
    assert set(report["update"]) == {"1 thread(s)", "2 thread(s)"}
    assert all(value > 0 for part in report["update"].values() for value in part.values())
    assert "speed-up" in done.stdout and "again" in done.stdout and "at once" in done.stdout


def test_threads_benchmark_trains_recurrent_models_in_two_threads(tmp_path):
    """--python-threads alone, on the LSTM: both models train, and only that part runs."""
    out = tmp_path / "threads.json"
    done = subprocess.run([sys.executable, str(RUN.parent / "threads.py"), "--python-threads",
                           "--only", "lstm", "--rounds", "1", "--steps", "2",
                           "--json", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert set(report) == {"python_threads"}
    assert report["python_threads"]["lstm"]["batch"] == 32


def test_cores_benchmark_runs_every_side(tmp_path):
    """benchmarks/cores.py: glassnet on 2 MPI processes, glassnet and PyTorch (glibc's
    defaults and MALLOC_TOP_PAD_) on 2 threads; each round's ratios are taken against the
    faster PyTorch side (tiny sizes; timings are not asserted)."""
    out = tmp_path / "cores.json"
    done = subprocess.run([sys.executable, str(RUN.parent / "cores.py"), "--only",
                           "cnn,predict-cnn", "--rounds", "1", "--repeats", "1",
                           "--scale", "0.001", "--json", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    rows = json.loads(out.read_text())["rows"]
    for case in ("cnn", "predict-cnn"):
        sides = {side: rows[f"{case} {side}"] for side in
                 ("glassnet-dp", "glassnet", "torch", "torch-pad")}
        assert all(row["median_s"] > 0 for row in sides.values())
        assert min(sides["torch"]["ratio"], sides["torch-pad"]["ratio"]) == 1.0
    assert "| cnn glassnet-dp |" in done.stdout


@pytest.mark.parametrize("arguments, message", [
    (["--cores", "1"], "--cores must be >= 2"),
    (["--only", "cnn,gan"], "unknown cases ['gan']"),
    (["--repeats", "0"], "--repeats >= 1"),
])
def test_cores_benchmark_refuses_bad_arguments(arguments, message):
    done = subprocess.run([sys.executable, str(RUN.parent / "cores.py"), *arguments],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and message in done.stderr
