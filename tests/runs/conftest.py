"""A finished run, written once per test session, that the tests of the run folder read."""

from __future__ import annotations

import types

import numpy as np
import pytest

import workbench as wb
from workbench.runs import RunLogger, fingerprint


def tiny_model(steps_per_execution="auto"):
    model = wb.Sequential([wb.layers.Input((4,)), wb.layers.Dense(3)])
    model.compile(
        "adam",
        wb.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model


def tiny_data(n=96):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)).astype("float32"), rng.integers(0, 3, n)


@pytest.fixture(scope="session")
def finished(tmp_path_factory):
    """Two epochs of three steps, with validation, histograms every epoch, checkpoints and a listener."""
    root = tmp_path_factory.mktemp("runs")
    x, y = tiny_data()
    model = tiny_model()
    logger = RunLogger(
        root=root,
        run_name="baseline",
        histogram_freq=1,
        update_freq=1,
        hparams={"batch_size": 32, "shuffle": True},
        data=fingerprint(x, y),
    )
    logger.set_gradient_batch(x[:32], y[:32])
    records = []
    logger.listeners.append(records.append)
    model.fit(x, y, batch_size=32, epochs=2, validation_data=(x[:32], y[:32]), callbacks=[logger], verbose=0)
    return types.SimpleNamespace(
        root=root, path=logger.path, logger=logger, model=model, records=records, x=x, y=y
    )


@pytest.fixture(scope="session")
def shared_model():
    """A compiled model that tests fit again and again (its steps compile once), for tests that look at
    what a fit writes rather than at the model."""
    return tiny_model()
