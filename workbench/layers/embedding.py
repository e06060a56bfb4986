"""Embedding: integer indices to dense vectors, as a table lookup."""

from __future__ import annotations

import warnings

import jax.numpy as jnp

from workbench import constraints, initializers, regularizers
from workbench.core.layer import Layer


class Embedding(Layer):
    """Turns non-negative integer indices into dense vectors: row `i` of a learned table.

    Inputs are integers of any shape `(batch, ...)`; outputs add a last axis of
    size `output_dim`. With `mask_zero=True`, index 0 is padding: the layer emits
    the mask `inputs != 0`, which recurrent layers downstream use to skip those
    steps (so the vocabulary must then start at 1 and `input_dim` = size + 1).

    Out-of-range indices follow Keras on its JAX backend (`jnp.take`): an index in
    `[-input_dim, 0)` counts from the end of the table, and any index outside
    `[-input_dim, input_dim)` gives a row of NaN. Nothing is checked at run time,
    since a check would need the values on the host.

    >>> import numpy as np
    >>> layer = Embedding(input_dim=10, output_dim=3, mask_zero=True)
    >>> layer(np.array([[1, 2, 0]])).shape
    (1, 3, 3)
    """

    def __init__(
        self,
        input_dim,
        output_dim,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        embeddings_constraint=None,
        mask_zero=False,
        weights=None,
        lora_rank=None,
        lora_alpha=None,
        **kwargs,
    ):
        for name, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(
                    f"Embedding: `{name}` must be a positive integer, got {name}={value!r} "
                    f"(of type {type(value).__name__})."
                )
        if kwargs.pop("input_length", None) is not None:
            warnings.warn(
                "Embedding: argument `input_length` is deprecated (Keras 3); just remove it.", stacklevel=2
            )
        if kwargs.pop("quantization_config", None) is not None:
            raise ValueError("Embedding: quantization_config (quantized embeddings) is not supported.")
        super().__init__(**kwargs)
        if lora_rank is not None or lora_alpha is not None:
            raise ValueError(f"Embedding '{self.name}': lora_rank/lora_alpha (LoRA) is not supported.")
        if not isinstance(mask_zero, bool):
            raise ValueError(f"Embedding '{self.name}': `mask_zero` must be a boolean, got {mask_zero!r}.")
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = mask_zero
        self.supports_masking = mask_zero
        # Inputs are indices: never cast them to the float compute dtype.
        self.autocast = False
        if weights is not None:
            self.build()
            self.set_weights(weights if isinstance(weights, list) and len(weights) == 1 else [weights])

    def build(self, input_shape=None):
        if self.built:
            return
        self.embeddings = self.add_weight(
            shape=(self.input_dim, self.output_dim),
            initializer=self.embeddings_initializer,
            regularizer=self.embeddings_regularizer,
            constraint=self.embeddings_constraint,
            name="embeddings",
        )
        self.built = True

    def call(self, inputs):
        if inputs.dtype not in (jnp.int32, jnp.int64):
            inputs = inputs.astype("int32")
        # jnp.take's default mode wraps negative indices and fills out-of-range ones with NaN (as Keras/JAX).
        outputs = jnp.take(self.embeddings.value, inputs, axis=0)
        return outputs.astype(self.compute_dtype)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return inputs != 0

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
        }
