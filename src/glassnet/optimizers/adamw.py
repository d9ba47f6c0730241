"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as Keras 3."""

from __future__ import annotations

from glassnet import registry
from glassnet.optimizers.adam import Adam
from glassnet.optimizers.base import Schedule


@registry.register("optimizer", "adamw")
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as Keras:

        w <- w * (1 - lr * weight_decay), then the `Adam` step (same epsilon convention).

    This is torch.optim.AdamW's decay (torch's default weight_decay is 0.01, Keras' 0.004).

    Args:
        learning_rate: float or schedule, default 0.001.
        weight_decay: >= 0, default 0.004.
        beta_1, beta_2, epsilon, amsgrad: see `Adam`.
        clipnorm, clipvalue, global_clipnorm, name: see `Optimizer`.
    """

    def __init__(self, learning_rate: float | Schedule = 0.001, weight_decay: float = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str | None = "adamw"):
        if weight_decay is None:
            raise ValueError("AdamW: weight_decay must be a float >= 0, got None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay,
                         clipnorm, clipvalue, global_clipnorm, name)
