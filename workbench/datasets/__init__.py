"""Small data sets for teaching, bundled with the package or generated, so nothing is downloaded.

Labelled data sets come back the way Keras' `load_data` returns them, split by a seeded, stratified
shuffle; `info(name)` has their feature and class names, origin and licence:

- `digits()`: 1797 8x8 images of handwritten digits (UCI, CC BY 4.0).
- `iris()`, `wine()`, `breast_cancer()`: classic tables of measurements (UCI, CC BY 4.0).

Generated problems, seeded:

- `moons()`, `spirals()`: 2-D points for classifiers with curved boundaries.
- `addition()`: "12+345" -> "357" as character tokens over `ADDITION_VOCAB`, a sequence-to-sequence task.

Text, for character-level language models:

- `shakespeare()`: the Sonnets and The Tempest (Project Gutenberg, public domain).
- `char_sequences(text, seq_len)`: windows of token ids and the next-character targets.
- `encode(text, vocab)`, `decode(tokens, vocab)`: between str and token ids, token i being `vocab[i]`.

>>> import workbench
>>> (x_train, y_train), (x_test, y_test) = workbench.datasets.digits()
>>> x_train.shape, x_train.dtype
((1438, 8, 8), dtype('uint8'))
>>> workbench.datasets.info("iris")["class_names"].tolist()
['setosa', 'versicolor', 'virginica']
"""

from workbench.datasets._addition import ADDITION_VOCAB, addition
from workbench.datasets._char_sequences import char_sequences
from workbench.datasets._digits import digits
from workbench.datasets._info import info
from workbench.datasets._moons import moons
from workbench.datasets._shakespeare import shakespeare
from workbench.datasets._spirals import spirals
from workbench.datasets._tabular import breast_cancer, iris, wine
from workbench.datasets._vocab import decode, encode

__all__ = [
    "ADDITION_VOCAB",
    "addition",
    "breast_cancer",
    "char_sequences",
    "decode",
    "digits",
    "encode",
    "info",
    "iris",
    "moons",
    "shakespeare",
    "spirals",
    "wine",
]
