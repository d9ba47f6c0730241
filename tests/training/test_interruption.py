"""A real training process, stopped by SIGTERM and SIGKILL at random moments, then resumed.

One chain: a reference run without interruption; then the same script run again and again
with one BackupAndRestore folder, each run stopped at a random moment (3 SIGTERM, 3 SIGKILL,
in random order), and a last run to completion. Each resume starts from the backup the
previous run left, so the final weights equal the reference bitwise only if every resume was
exact. SIGTERM must end with a clean return from fit (exit code 0, a fresh backup); after
SIGKILL the backup on disk must load (writes are atomic: never half-written).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from glassnet.saving.training_state import FILE_NAME, read_checkpoint

EPOCHS, STEPS_PER_EPOCH = 12, 113  # 4000 samples, 10% validation, batch 32

SCRIPT = textwrap.dedent(f"""
    import json, signal, sys
    from pathlib import Path

    import numpy as np

    import glassnet as gn
    from glassnet import callbacks, layers
    from glassnet.random import set_random_seed

    backup_dir, out = Path(sys.argv[1]), Path(sys.argv[2])
    set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4000, 32)).astype("float32")
    y = x[:, :4].argmax(axis=1)
    model = gn.Sequential([layers.Input(shape=(32,)), layers.Dense(64, activation="relu"),
                           layers.Dropout(0.2), layers.Dense(64, activation="relu"),
                           layers.Dense(4, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])


    class Started(callbacks.Callback):
        def on_train_begin(self, logs=None):  # after BackupAndRestore restored its backup
            print("TRAINING", flush=True)


    history = model.fit(x, y, batch_size=32, epochs={EPOCHS}, validation_split=0.1,
                        verbose=0, callbacks=[callbacks.BackupAndRestore(backup_dir,
                                                                        save_freq=10),
                                              Started()])
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a signal that comes too late: "DONE"
    if (backup_dir / "{FILE_NAME}").exists():  # kept: fit was interrupted
        print("INTERRUPTED", flush=True)
        sys.exit(0)
    np.savez(out, *model.get_weights())
    out.with_suffix(".json").write_text(json.dumps(history.history))
    print("DONE", flush=True)
""")


def start(tmp_path, backup_dir, out):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    process = subprocess.Popen([sys.executable, str(tmp_path / "train.py"), str(backup_dir),
                                str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    line = process.stdout.readline()
    if line.strip() != "TRAINING":
        process.kill()
        raise AssertionError(f"the script did not start training: {line!r}\n"
                             f"{process.communicate()[1]}")
    return process


def finish(process, timeout: float = 60) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def checkpoint_position(backup_dir) -> int:
    """Training steps done in the backup on disk (0 without one); it must load."""
    path = backup_dir / FILE_NAME
    if not path.exists():
        return 0
    state = read_checkpoint(path)["state"]
    return state["epoch"] * STEPS_PER_EPOCH + state["step"]


def load_result(out):
    with np.load(out, allow_pickle=False) as arrays:
        weights = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
    return weights, json.loads(out.with_suffix(".json").read_text())


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_and_sigkill_at_random_points_resume_bitwise(tmp_path):
    (tmp_path / "train.py").write_text(SCRIPT)
    seed = random.SystemRandom().randrange(2**32)
    chooser = random.Random(seed)

    started = time.perf_counter()
    reference = start(tmp_path, tmp_path / "reference-backup", tmp_path / "reference.npz")
    training = time.perf_counter()  # delays count from fit's start, as below
    code, out, err = finish(reference)
    train_seconds = time.perf_counter() - training
    assert code == 0 and "DONE" in out, err
    expected_weights, expected_history = load_result(tmp_path / "reference.npz")

    total = EPOCHS * STEPS_PER_EPOCH
    backup_dir = tmp_path / "backup"
    kinds = [signal.SIGTERM] * 3 + [signal.SIGKILL] * 3
    chooser.shuffle(kinds)
    log = []
    for index, kind in enumerate(kinds):
        before = checkpoint_position(backup_dir)
        remaining = train_seconds * (total - before) / total
        # spread over what is left, so that a later point still finds training running
        delay = chooser.uniform(0.2, 1.0) * remaining / (len(kinds) - index + 1)
        process = start(tmp_path, backup_dir, tmp_path / "out.npz")
        time.sleep(delay)
        process.send_signal(kind)
        code, out, err = finish(process)
        after = checkpoint_position(backup_dir)  # loads, or the test fails here
        leftovers = list(backup_dir.glob("*.tmp"))
        log.append((kind.name, round(delay, 2), before, after, len(leftovers)))
        context = f"seed {seed}, point {index}: {log[-1]}\n{err}"
        assert "DONE" not in out, f"training ended before the signal came: {context}"
        if kind == signal.SIGTERM:
            # a clean return from fit, with a backup of the step it stopped after
            assert code == 0 and "INTERRUPTED" in out, context
            assert after > before and not leftovers, context
        else:
            assert code == -signal.SIGKILL, context
            assert after >= before, context

    process = start(tmp_path, backup_dir, tmp_path / "out.npz")
    code, out, err = finish(process)
    assert code == 0 and "DONE" in out, err
    weights, history = load_result(tmp_path / "out.npz")
    print(f"\nseed {seed}; uninterrupted fit {train_seconds:.1f} s, {total} steps; "
          "(signal, delay s, step before, step after, temp files left):")
    for entry in log:
        print("   ", entry)
    assert len(weights) == len(expected_weights)
    for got, expected in zip(weights, expected_weights):
        assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes(), \
            f"seed {seed}: {log}"
    assert history == expected_history, f"seed {seed}: {log}"
    assert not backup_dir.exists()  # deleted once training completed
    print(f"{len(log)} kill points tried, all resumed exactly "
          f"({time.perf_counter() - started:.1f} s)")
