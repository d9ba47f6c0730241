"""glassnet.distribution in one process: the split of a batch, the flat buffer, the no-op
world of one, and what fit's pieces do with a shard (no MPI needed: see test_mpi.py)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import glassnet as gn
from glassnet import distribution, losses
from glassnet.distribution import FlatBuffer, Shard, SingleProcess, shard_bounds, sharding
from glassnet.random import batch_random
from glassnet.training.data.adapters import ArrayBatches, IteratorBatches


@pytest.mark.parametrize(("total", "size"), [(10, 4), (3, 2), (1, 2), (7, 7), (5, 8)])
def test_shards_cover_the_batch_in_order_and_evenly(total, size):
    bounds = [shard_bounds(total, rank, size) for rank in range(size)]
    assert bounds[0][0] == 0 and bounds[-1][1] == total
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    counts = [stop - start for start, stop in bounds]
    assert max(counts) - min(counts) <= 1 and counts == sorted(counts, reverse=True)


def test_flat_buffer_views_share_one_array():
    buffer = FlatBuffer([(2, 3), (4,)], scalars=2, dtype=np.float64)
    first, second = buffer.views
    first[...] = 1.0
    second[...] = 2.0
    buffer.scalars[:] = (5.0, 6.0)
    np.testing.assert_array_equal(buffer.array, [5, 6] + [1] * 6 + [2] * 4)
    assert buffer.segment.size == 10
    assert buffer.offsets == [(2, 8), (8, 12)]
    assert buffer.fits([(2, 3), (4,)], 2, np.float64)
    assert not buffer.fits([(2, 3), (4,)], 3, np.float64)


def test_without_mpi4py_data_parallel_is_one_process(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)       # import mpi4py -> ImportError
    strategy = distribution.DataParallel()
    assert isinstance(strategy.communicator, SingleProcess)
    assert (strategy.rank, strategy.world_size, strategy.is_chief) == (0, 1, True)
    assert strategy.num_processes == strategy.num_model_replicas == 1
    with strategy.scope():
        assert distribution.distribution() is strategy
        assert distribution.communicator() is None        # fit takes its one-process path
        assert (distribution.rank(), distribution.world_size(), distribution.is_chief()) \
            == (0, 1, True)
    assert distribution.distribution() is None


def test_launched_by_mpiexec_without_mpi4py_warns(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    monkeypatch.setenv("PMI_SIZE", "4")
    with pytest.warns(RuntimeWarning, match="mpi4py is not installed"):
        distribution.DataParallel()


def test_arguments_are_checked():
    with pytest.raises(TypeError, match="expected a Distribution"):
        distribution.set_distribution("data_parallel")
    with pytest.raises(ValueError, match="device_mesh"):
        distribution.DataParallel(devices=["cpu:0"])
    with pytest.raises(ValueError, match="auto_shard_dataset"):
        distribution.DataParallel(auto_shard_dataset=False)
    for bad in (0, -1.0, True, "4"):
        with pytest.raises(ValueError, match=r"bucket_cap_mb must be a positive number .*got"):
            distribution.DataParallel(bucket_cap_mb=bad)
    assert distribution.DataParallel().bucket_bytes is None
    assert distribution.DataParallel(bucket_cap_mb=0.5).bucket_bytes == 2**19


def test_dropout_draws_the_global_batch_and_keeps_its_rows():
    """What a rank draws inside a shard is its rows of one process' draw for the batch."""
    whole = np.random.default_rng(0).random((5, 3))
    for start, stop in ((0, 3), (3, 5)):
        with sharding(Shard(5, start, stop, SingleProcess())):
            mine = batch_random(np.random.default_rng(0), (stop - start, 3))
        np.testing.assert_array_equal(mine, whole[start:stop])
    with sharding(Shard(5, 2, 2, SingleProcess())):           # a stand-in: one row, any
        assert batch_random(np.random.default_rng(0), (1, 3)).shape == (1, 3)


def test_loss_divisor_is_what_the_reduction_divides_by():
    y_true, y_pred = np.array([0, 1, 2, 1]), np.full((4, 3), 1 / 3)
    sparse = losses.SparseCategoricalCrossentropy()
    assert sparse.divisor(y_true, y_pred) == 4.0
    assert sparse.divisor(y_true, y_pred, mask=np.array([1, 1, 0, 0])) == 2.0
    assert losses.SparseCategoricalCrossentropy(ignore_class=1).divisor(y_true, y_pred) == 2.0
    weighted = losses.SparseCategoricalCrossentropy(reduction="mean_with_sample_weight")
    assert weighted.divisor(y_true, y_pred, sample_weight=np.array([1, 2, 3, 4.0])) == 10.0
    assert losses.SparseCategoricalCrossentropy(reduction="sum").divisor(y_true, y_pred) \
        is None
    sequence = losses.MeanSquaredError()
    assert sequence.divisor(np.zeros((2, 5, 3)), np.zeros((2, 5, 3))) == 10.0   # (N, T)


def test_array_batches_serve_a_rank_its_rows():
    x = np.arange(23.0)[:, None]
    source = ArrayBatches((x, None, None), batch_size=10)
    order = np.random.default_rng(0).permutation(23)
    source.shard_by(1, 2)
    batches = [batch[0][:, 0] for batch in source.batches(order)]
    np.testing.assert_array_equal(batches[0], x[order[5:10], 0])
    np.testing.assert_array_equal(batches[2], x[order[22:23], 0])    # 3 left: rows 2:3
    assert source.last_shard == (3, 2, 3)
    source.shard_by(1, 4)                                      # 3 samples, rank 1 of 4
    *_, last = source.batches(None)
    assert source.last_shard == (3, 1, 2) and last[0][0, 0] == 21.0


def test_a_short_batch_leaves_a_stand_in():
    source = IteratorBatches(iter([(np.ones((1, 2)), np.zeros(1))]), lambda b, where: b)
    source.shard_by(1, 2)
    (x, y, _), = list(source.batches())
    assert x.shape == (1, 2) and source.last_shard == (1, 1, 1)   # start == stop: none


def test_fit_on_one_process_is_unchanged_under_data_parallel(monkeypatch):
    """DataParallel() over a world of one: fit takes the one-process path, same numbers."""
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((30, 4)), rng.integers(0, 2, 30)

    def train():
        gn.random.set_random_seed(0)
        model = gn.Sequential([gn.layers.Input((4,)), gn.layers.Dense(2, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        return model.parameters()[0].value.copy()

    alone = train()
    with distribution.DataParallel().scope():
        np.testing.assert_array_equal(train(), alone)
