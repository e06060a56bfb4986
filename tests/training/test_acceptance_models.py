"""Acceptance: three models a Keras user writes (a Sequential convnet, a functional transformer text
classifier, an LSTM encoder-decoder) train end to end through compile/fit/evaluate and learn their tasks.

Each test is written the way a Keras 3 script is, with `import workbench as keras`, and asserts what the
user would look at: test accuracy, the History's keys, the loss curve.
"""

import numpy as np
import pytest

import workbench as keras
from workbench import layers, ops


def test_sequential_convnet_on_digits_reaches_95_percent_test_accuracy():
    keras.utils.set_random_seed(0)
    num_classes = 10
    (x_train, y_train), (x_test, y_test) = keras.datasets.digits()
    x_train = np.expand_dims(x_train.astype("float32") / 16, -1)  # pixels count 0..16
    x_test = np.expand_dims(x_test.astype("float32") / 16, -1)
    y_train = keras.utils.to_categorical(y_train, num_classes)
    y_test = keras.utils.to_categorical(y_test, num_classes)

    model = keras.Sequential(
        [
            keras.Input(shape=(8, 8, 1)),
            layers.Conv2D(32, kernel_size=(3, 3), padding="same", activation="relu"),
            layers.Conv2D(32, kernel_size=(3, 3), padding="same", activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, kernel_size=(3, 3), padding="same", activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(64, activation="relu"),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=32, epochs=10, validation_split=0.1, verbose=0)

    score = model.evaluate(x_test, y_test, verbose=0)
    assert score[1] >= 0.95, f"test accuracy {score[1]:.4f}, loss {score[0]:.4f}"
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 10 for v in history.history.values())
    assert history.history["val_accuracy"][-1] >= 0.9
    assert history.history["val_loss"][-1] < 0.5 * history.history["val_loss"][0]
    # evaluate's accuracy is the accuracy of predict's classes
    predicted = np.argmax(model.predict(x_test, verbose=0), axis=-1)
    assert np.mean(predicted == np.argmax(y_test, -1)) == pytest.approx(score[1], abs=1e-6)


class TokenAndPositionEmbedding(layers.Layer):
    """Token embeddings plus learned position embeddings, as in Keras' text-classification example."""

    def __init__(self, maxlen, vocab_size, embed_dim, **kwargs):
        super().__init__(**kwargs)
        self.maxlen, self.vocab_size, self.embed_dim = maxlen, vocab_size, embed_dim
        self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        positions = ops.arange(0, ops.shape(x)[-1], 1)
        return self.token_emb(x) + self.pos_emb(positions)

    def get_config(self):
        return {
            **super().get_config(),
            "maxlen": self.maxlen,
            "vocab_size": self.vocab_size,
            "embed_dim": self.embed_dim,
        }


def majority_token_data(n, maxlen, vocab_size, rng):
    """Sequences with 1..5 copies each of tokens 1 and 2 among noise tokens; label 1 where token 1 is
    the more frequent (the counts always differ, so the two classes are about equally common)."""
    x = rng.integers(3, vocab_size, size=(n, maxlen))
    y = np.zeros(n, "int32")
    for i in range(n):
        n1, n2 = rng.choice(np.arange(1, 6), size=2, replace=False)
        where = rng.permutation(maxlen)[: n1 + n2]
        x[i, where[:n1]], x[i, where[n1:]] = 1, 2
        y[i] = n1 > n2
    return x.astype("int32"), y


def test_functional_transformer_classifier_learns_a_token_counting_task():
    keras.utils.set_random_seed(0)
    maxlen, vocab_size, embed_dim, num_heads, ff_dim = 16, 12, 32, 2, 64
    rng = np.random.default_rng(0)
    x_train, y_train = majority_token_data(2000, maxlen, vocab_size, rng)
    x_test, y_test = majority_token_data(500, maxlen, vocab_size, rng)

    inputs = keras.Input(shape=(maxlen,), dtype="int32")
    x = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)(inputs)
    attn = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim // num_heads)(x, x)
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, attn]))
    ffn = layers.Dense(ff_dim, activation="relu")(x)
    ffn = layers.Dense(embed_dim)(ffn)
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, ffn]))
    x = layers.GlobalAveragePooling1D()(x)
    outputs = layers.Dense(2, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)

    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=64, epochs=4, verbose=0)

    loss = history.history["loss"]
    assert loss[-1] < 0.3 * loss[0], loss
    assert history.history["accuracy"][-1] >= 0.9, history.history["accuracy"]
    _, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert test_accuracy >= 0.9  # chance is about 0.5


def test_lstm_encoder_decoder_learns_to_reverse_digit_strings():
    keras.utils.set_random_seed(0)
    length, start, vocab = 5, 11, 12  # digit d is token d + 1; 11 starts the decoder; 0 is never used
    rng = np.random.default_rng(0)
    source = rng.integers(1, 11, size=(2000, length)).astype("int32")
    target = source[:, ::-1]
    decoder_input = np.concatenate([np.full((len(source), 1), start), target[:, :-1]], axis=1).astype("int32")

    encoder_inputs = keras.Input(shape=(None,), dtype="int32", name="encoder_tokens")
    decoder_inputs = keras.Input(shape=(None,), dtype="int32", name="decoder_tokens")
    x = layers.Embedding(vocab, 16)(encoder_inputs)
    _, state_h, state_c = layers.LSTM(64, return_state=True)(x)
    y = layers.Embedding(vocab, 16)(decoder_inputs)
    y = layers.LSTM(64, return_sequences=True)(y, initial_state=[state_h, state_c])
    outputs = layers.Dense(vocab, activation="softmax")(y)
    model = keras.Model([encoder_inputs, decoder_inputs], outputs)

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit([source, decoder_input], target, batch_size=64, epochs=6, verbose=0)

    loss = history.history["loss"]
    assert loss[-1] < 0.2 * loss[0], loss
    assert all(b < a for a, b in zip(loss, loss[1:])), loss
    assert history.history["accuracy"][-1] >= 0.9  # per-token; chance is 0.1
    # Teacher-forced predictions on new strings are their reversals.
    new = rng.integers(1, 11, size=(200, length)).astype("int32")
    new_decoder_input = np.concatenate([np.full((200, 1), start), new[:, ::-1][:, :-1]], axis=1).astype(
        "int32"
    )
    predicted = np.argmax(model.predict([new, new_decoder_input], verbose=0), axis=-1)
    assert np.mean(predicted == new[:, ::-1]) >= 0.9
