"""Small datasets bundled with the package, returned the way Keras' `load_data` returns them.

>>> import workbench
>>> (x_train, y_train), (x_test, y_test) = workbench.datasets.digits()
>>> x_train.shape, x_train.dtype
((1438, 8, 8), dtype('uint8'))
"""

from workbench.datasets._digits import digits

__all__ = ["digits"]
