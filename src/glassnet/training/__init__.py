"""Training: what `Model.fit`, `evaluate` and `predict` run, one concern a module.

    trainer.py     the loops over epochs and batches, callbacks, validation, interruption
    step.py        one step, all or nothing: the update only when everything is finite
    gradients.py   the math of a step: forward, loss (fused when it can be), backward,
                   the regularizers' penalties
    guard.py       the finiteness check of each step, DivergenceError and its hint
    locate.py      after a failed check: the step run again, watched, to name the layer
    snapshot.py    a step run for measurement only, the model's state put back after it
    buffers.py     arrays that a step's layers write into, kept from one step to the next
    data/          checking the data against the model and serving it batch by batch

The Model's methods are thin doors into these modules, so the public API stays Keras':
`model.fit(x, ...)` -> `trainer.fit` -> `data.prepare` -> a batch source -> `model.train_step`
-> `step.train_step`. This package imports no model class: it works through the Model's
public methods and attributes.
"""
