"""What `fit`, `evaluate` and `predict` read: checked data, served batch by batch.

Who owns what, in the order `Model.fit` hands `x` on:

    prepare.py     the data against the model: arrays checked and converted once in full
                   (memory-mapped ones by their headers), a validation split, and the
                   batch source for the kind of input
    checks.py      the checks themselves (dtype, NaN/inf, shapes, labels, sample weights);
                   they know no model, only shapes, a dtype and a loss
    adapters.py    the batch sources: arrays, a PyDataset, a generator
    pydataset.py   PyDataset, the base class of batch-indexed datasets (Keras 3's API)
"""

from glassnet.training.data.pydataset import PyDataset, Sequence

__all__ = ["PyDataset", "Sequence"]
