"""Input pipelines: a tf.data-shaped `Dataset` with checkpointable iterators, and file readers.

>>> from workbench.data import Dataset
>>> list(Dataset.range(6).filter(lambda i: i % 2 == 0).map(lambda i: i * 10))
[np.int64(0), np.int64(20), np.int64(40)]
"""

from workbench.data.csv_source import from_csv
from workbench.data.dataset import (
    AUTOTUNE,
    INFINITE_CARDINALITY,
    UNKNOWN_CARDINALITY,
    Dataset,
    DatasetIterator,
)
from workbench.data.images import image_dataset_from_directory
from workbench.data.sources import from_npy, from_npz, from_text_lines
from workbench.data.structure import TensorSpec

__all__ = [
    "AUTOTUNE",
    "INFINITE_CARDINALITY",
    "UNKNOWN_CARDINALITY",
    "Dataset",
    "DatasetIterator",
    "TensorSpec",
    "from_csv",
    "from_npy",
    "from_npz",
    "from_text_lines",
    "image_dataset_from_directory",
]
