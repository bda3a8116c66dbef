"""poolcli: max, average, min and sum pooling of images and matrices.

The engine is pure numpy and follows Keras/TensorFlow and PyTorch cell for cell::

    >>> import numpy as np, poolcli
    >>> poolcli.pool2d(np.arange(1, 17).reshape(4, 4), 2)
    array([[ 6,  8],
           [14, 16]])
"""

from .filters import FILTER_ALIASES, FILTERS, FilterError, parse_filter
from .ops import MODES, conv2d, output_shape, pool2d

__version__ = "0.1.0"

__all__ = [
    "pool2d",
    "conv2d",
    "output_shape",
    "FILTERS",
    "FILTER_ALIASES",
    "FilterError",
    "MODES",
    "parse_filter",
    "__version__",
]
