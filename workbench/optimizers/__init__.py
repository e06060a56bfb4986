"""Optimizers with Keras' names, arguments and numerics, each one an optax transformation.

`get(...)` accepts a Keras name, a config, an optimizer or any optax
`GradientTransformation`; every result has `to_optax()`, which is all the
trainer uses. The learning rate lives in the optax state, so callbacks change
it with `set_learning_rate(opt_state, value)` and the jitted step is not traced
again. `workbench.optimizers.schedules` holds Keras' learning-rate schedules.

>>> from workbench import optimizers
>>> opt = optimizers.get("adam")
>>> tx = opt.to_optax()  # an optax.GradientTransformation
"""

from workbench.optimizers import schedules
from workbench.optimizers.adagrad import Adagrad
from workbench.optimizers.adam import Adam, Adamax, AdamW, Nadam
from workbench.optimizers.base import OptaxOptimizer, Optimizer
from workbench.optimizers.lion import Lion
from workbench.optimizers.rmsprop import RMSprop
from workbench.optimizers.serialization import ALL_OPTIMIZERS, deserialize, get, serialize
from workbench.optimizers.sgd import SGD

__all__ = [
    "ALL_OPTIMIZERS",
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Lion",
    "Nadam",
    "OptaxOptimizer",
    "Optimizer",
    "RMSprop",
    "deserialize",
    "get",
    "schedules",
    "serialize",
]
