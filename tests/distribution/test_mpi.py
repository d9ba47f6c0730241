"""Data parallelism on 2 MPI processes (`mpiexec -n 2`) against 1 process, in float64.

One `mpiexec` run executes every scenario of `_scenarios.py` (seconds); pytest runs the
same scenarios in-process and compares: the weights after training, the loss and metric
history (validation included), evaluate and predict, equal to a relative 1e-9 (rounding
is ~1e-16: the same sums in another order), and equal across the two ranks bit for bit.
Without mpi4py or mpiexec the tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _scenarios import (
    BUCKETED,
    SCENARIOS,
    backup_resumed,
    float64,
    sources,
    uninterrupted,
)

HERE = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI", "").lower() == "true"
RTOL = 1e-9


def _mpiexec() -> str:
    """The mpiexec beside this Python (the MPICH wheel's), or on PATH; else skip/fail."""
    problem = None
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        problem = 'mpi4py is not installed (pip install "glassnet[mpi]")'
    local = Path(sys.executable).parent / "mpiexec"
    found = str(local) if local.exists() else shutil.which("mpiexec")
    if found is None:
        problem = problem or "mpiexec not found (pip install mpich)"
    if problem:
        if IN_CI:
            pytest.fail(problem)
        pytest.skip(problem)
    return found


def _launch(script: Path, *args: str, timeout: float) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(HERE.parents[1] / "src"),
                                          os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([_mpiexec(), "-n", "2", sys.executable, str(script), *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> Path:
    """The folder of the 2-rank results (one mpiexec run for the whole module)."""
    out = tmp_path_factory.mktemp("two_ranks")
    done = _launch(HERE / "_scenarios.py", str(out), timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    return out


def _ranks(out: Path, name: str) -> tuple[dict, dict]:
    return tuple(dict(np.load(out / f"{name}.rank{rank}.npz")) for rank in (0, 1))


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    scale = max(float(np.max(np.abs(b))), 1e-300) if b.size else 1.0
    return float(np.max(np.abs(a - b))) / scale if a.size else 0.0


def _assert_same(two: dict, one: dict) -> None:
    assert two.keys() == one.keys()
    for key in one:
        assert two[key].shape == one[key].shape, key
        assert _relative(two[key], one[key]) <= RTOL, (key, _relative(two[key], one[key]))


@pytest.mark.parametrize("name", sorted(set(SCENARIOS) - {"bn_per_rank"}))
def test_two_ranks_train_as_one_process(two_ranks, name):
    """MLP (SGD + momentum, shuffle, validation_split, class weights, Dropout, a last batch
    of one sample), CNN (Adam, sample weights, validation_data), LSTM (RMSprop, L2),
    BatchNormalization(synchronized=True): weights, History, evaluate and predict."""
    rank0, rank1 = _ranks(two_ranks, name)
    for key in rank0:
        np.testing.assert_array_equal(rank0[key], rank1[key], err_msg=key)
    with float64():
        one = SCENARIOS[name]()
    _assert_same(rank0, one)


@pytest.mark.parametrize("name", BUCKETED)
def test_gradient_buckets_give_the_single_all_reduce_bit_for_bit(two_ranks, name):
    """Every weight its own bucket, each reduced (MPI_Iallreduce) as soon as backward has
    finished its layer, a shared layer only after its last call: the same numbers, on
    both ranks, as one all-reduce after backward; more all-reduce calls where buckets
    were used (not with synchronized BatchNormalization, which communicates in backward)."""
    single = _ranks(two_ranks, name)
    bucketed = _ranks(two_ranks, f"{name}_buckets")
    for rank in (0, 1):
        assert bucketed[rank].keys() == single[rank].keys()
        for key in single[rank]:
            np.testing.assert_array_equal(bucketed[rank][key], single[rank][key],
                                          err_msg=f"{key} on rank {rank}")
    calls = _ranks(two_ranks, f"{name}_calls")[0]["calls"]
    bucket_calls = _ranks(two_ranks, f"{name}_buckets_calls")[0]["calls"]
    assert int(bucket_calls) > int(calls)


def test_per_rank_batch_statistics_keep_the_ranks_equal(two_ranks):
    """BatchNormalization() normalizes each rank's rows with their own statistics (as DDP):
    not one process' result, but the ranks still hold the same weights."""
    rank0, rank1 = _ranks(two_ranks, "bn_per_rank")
    np.testing.assert_array_equal(rank0["weights"], rank1["weights"])
    assert np.isfinite(rank0["weights"]).all()
    with float64():
        one = SCENARIOS["bn_per_rank"]()
    assert _relative(rank0["weights"], one["weights"]) > RTOL


def test_memmap_pydataset_and_generator_sources(two_ranks, tmp_path):
    rank0, rank1 = _ranks(two_ranks, "sources")
    with float64():
        one = sources(str(tmp_path))
    _assert_same(rank0, one)
    _assert_same(rank1, one)


def test_interrupted_and_resumed_on_two_ranks_and_on_one(two_ranks, tmp_path):
    """SIGTERM to rank 0 alone mid-epoch: both ranks stop after the same step, rank 0 writes
    the backup; the same fit resumes it on 2 ranks, and (a copy) on 1 process: both end
    where an uninterrupted run ends."""
    interrupted, _ = _ranks(two_ranks, "backup_interrupted")
    assert int(interrupted["epochs_done"]) == 1
    resumed0, resumed1 = _ranks(two_ranks, "backup_resumed")
    np.testing.assert_array_equal(resumed0["weights"], resumed1["weights"])
    with float64():
        reference = uninterrupted(str(tmp_path / "fresh"))
        shutil.copytree(two_ranks / "backup_for_one_process", tmp_path / "backup")
        resumed_alone = backup_resumed(str(tmp_path / "backup"))
    _assert_same(resumed0, reference)
    _assert_same(resumed_alone, reference)
    assert not (two_ranks / "backup" / "training_state.zip").exists()  # deleted at the end


def test_one_all_reduce_per_training_step(two_ranks):
    """The LSTM fit: 2 epochs of 4 batches, no validation: 8 all-reduces on each rank, and
    one at the start (that every rank was given the same data)."""
    rank0, rank1 = _ranks(two_ranks, "lstm_calls")
    assert int(rank0["calls"]) == int(rank1["calls"]) == 8 + 1


def test_only_rank_0_writes_logs_and_checkpoints(two_ranks):
    lines = (two_ranks / "log.csv").read_text().splitlines()
    assert len(lines) == 3 and lines[0].startswith("epoch")    # a header, 2 epochs, once
    assert (two_ranks / "model.glassnet").exists()
    rank0, rank1 = _ranks(two_ranks, "outputs")
    np.testing.assert_array_equal(rank0["weights"], rank1["weights"])


def test_an_error_on_one_rank_ends_the_job(tmp_path):
    start = time.monotonic()
    done = _launch(HERE / "_faulty.py", timeout=120)
    elapsed = time.monotonic() - start
    assert done.returncode != 0
    assert elapsed < 60
    assert "rank 1 of 2" in done.stderr and "a bad batch on rank 1" in done.stderr
    # before that, data that differ between the ranks were refused on both, cleanly
    assert done.stdout.count("ranks were given other data than rank 0") == 2


def test_demo_on_two_ranks(tmp_path):
    """`glassnet demo tiny --ranks 2` relaunches itself under mpiexec: rank 0 alone writes
    the files, and the result is one process' (float32: to rounding)."""
    import json

    mpiexec = _mpiexec()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PATH": os.pathsep.join(
        [str(Path(mpiexec).parent), os.environ.get("PATH", "")]),
        "PYTHONPATH": os.pathsep.join([str(HERE.parents[1] / "src"),
                                       os.environ.get("PYTHONPATH", "")])}
    results = {}
    for ranks in (1, 2):
        out = tmp_path / f"ranks{ranks}"
        done = subprocess.run([sys.executable, "-m", "glassnet", "demo", "tiny", "--out",
                               str(out), "--quiet", "--ranks", str(ranks)],
                              capture_output=True, text=True, timeout=180, env=env)
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout.count("prediction") == 1            # printed by rank 0 only
        results[ranks] = json.loads((out / "metrics.json").read_text())
    assert results[2]["final_loss"] == pytest.approx(results[1]["final_loss"], rel=1e-5)
    assert results[2]["predictions"] == pytest.approx(results[1]["predictions"], abs=1e-3)
