"""`glassnet.schedules` is `glassnet.optimizers.schedules`, the very module (as Keras has
`keras.optimizers.schedules`), kept here because `glassnet.schedules` is public API."""

from __future__ import annotations

import sys

from glassnet.optimizers import schedules

sys.modules[__name__] = schedules
