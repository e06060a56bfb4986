"""A tour of the three ways to build a model: Sequential, functional and subclassed.

Run it with `workbench tour`. Each builder here is also used by the tests, which
check that the parameter totals equal Keras' for the same architecture.
"""

from __future__ import annotations

import numpy as np

import workbench
from workbench import layers


def sequential_cnn(num_classes: int = 10) -> workbench.Sequential:
    """A small convnet for 28x28 greyscale images."""
    return workbench.Sequential([
        workbench.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ], name="sequential_cnn")


class TransformerBlock(layers.Layer):
    """Pre-norm self-attention + MLP block, written as a subclassed layer."""

    def __init__(self, embed_dim: int, num_heads: int, ff_dim: int, rate: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.embed_dim, self.num_heads, self.ff_dim, self.rate = embed_dim, num_heads, ff_dim, rate
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim // num_heads)
        self.ffn = workbench.Sequential([layers.Dense(ff_dim, activation="gelu"), layers.Dense(embed_dim)])
        self.norm1 = layers.LayerNormalization(epsilon=1e-6)
        self.norm2 = layers.LayerNormalization(epsilon=1e-6)
        self.drop1 = layers.Dropout(rate)
        self.drop2 = layers.Dropout(rate)

    def call(self, x, training=None):
        h = self.norm1(x)
        x = x + self.drop1(self.att(h, h), training=training)
        return x + self.drop2(self.ffn(self.norm2(x)), training=training)

    def get_config(self):
        return {**super().get_config(), "embed_dim": self.embed_dim, "num_heads": self.num_heads,
                "ff_dim": self.ff_dim, "rate": self.rate}


def functional_transformer(vocab_size: int = 2000, maxlen: int = 64, embed_dim: int = 32,
                           num_heads: int = 2, ff_dim: int = 64, num_classes: int = 2) -> workbench.Model:
    """A text classifier: token embeddings, two transformer blocks, pooled, then a softmax head."""
    tokens = workbench.Input((maxlen,), dtype="int32", name="tokens")
    x = layers.Embedding(vocab_size, embed_dim)(tokens)
    x = TransformerBlock(embed_dim, num_heads, ff_dim)(x)
    x = TransformerBlock(embed_dim, num_heads, ff_dim)(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.1)(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return workbench.Model(tokens, outputs, name="transformer_classifier")


def lstm_encoder_decoder(src_vocab: int = 500, tgt_vocab: int = 600, units: int = 64) -> workbench.Model:
    """A sequence-to-sequence LSTM: the encoder's final states start the decoder."""
    enc_in = workbench.Input((None,), dtype="int32", name="encoder_tokens")
    dec_in = workbench.Input((None,), dtype="int32", name="decoder_tokens")
    enc = layers.Embedding(src_vocab, units, mask_zero=True)(enc_in)
    _, state_h, state_c = layers.LSTM(units, return_state=True)(enc)
    dec = layers.Embedding(tgt_vocab, units, mask_zero=True)(dec_in)
    dec = layers.LSTM(units, return_sequences=True)(dec, initial_state=[state_h, state_c])
    outputs = layers.Dense(tgt_vocab, activation="softmax")(dec)
    return workbench.Model([enc_in, dec_in], outputs, name="lstm_seq2seq")


def run(print_fn=print) -> None:
    workbench.utils.set_random_seed(0)
    for build, sample in (
        (sequential_cnn, lambda: np.zeros((2, 28, 28, 1), "float32")),
        (functional_transformer, lambda: np.ones((2, 64), "int32")),
        (lstm_encoder_decoder, lambda: [np.ones((2, 7), "int32"), np.ones((2, 5), "int32")]),
    ):
        model = build()
        out = model(sample())
        model.summary(print_fn=print_fn)
        print_fn(f"  output for a batch of 2: shape {tuple(out.shape)}\n")
