"""Model: a Layer with the whole-model methods (summary, serialisation, saving).

`Model(inputs, outputs)` builds a Functional model; subclassing `Model` and
writing `call` gives a subclassed one, as in Keras.
"""

from __future__ import annotations

import json

from workbench.core.layer import Layer


class Model(Layer):
    """A trainable stack of layers: `Model(inputs, outputs)` or a subclass with `call`."""

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from workbench.core.functional import Functional

            return Functional.__new__(Functional, *args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        if args or "inputs" in kwargs or "outputs" in kwargs:
            raise TypeError(
                f"{type(self).__name__} is a subclassed model: build it with layers in __init__ and a "
                "call() method. Model(inputs, outputs) is for the functional API."
            )
        super().__init__(**kwargs)

    @property
    def layers(self) -> list[Layer]:
        return self._sublayers

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The sublayer with this name (or at this index)."""
        if index is not None:
            if not 0 <= index < len(self.layers):
                raise ValueError(f"Model '{self.name}' has {len(self.layers)} layers; index {index} is out of range.")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No layer named '{name}' in model '{self.name}'; layers: {[x.name for x in self.layers]}.")

    # ------------------------------------------------------------------ training
    # Keras' Model is also its trainer; the implementation lives in workbench.training.
    optimizer = None  # set by compile(), as in Keras
    compiled = False
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution="auto", jit_compile=True, **kwargs) -> None:
        """Configure training: optimizer, loss(es), metrics (Keras' arguments)."""
        from workbench.training import trainer

        trainer.compile(self, optimizer, loss, loss_weights, metrics, weighted_metrics, run_eagerly,
                        steps_per_execution, jit_compile, **kwargs)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_freq=1, *, run_name=None, run_dir=None,
            log=None, histogram_freq=0, dashboard=None):
        """Train for `epochs` epochs; returns a History whose `.history` maps log names to per-epoch values.

        Beyond Keras' arguments: every fit is written as a run under `workbench.runs.runs_dir()` (run.json,
        metrics.jsonl, TensorBoard events, checkpoints); `run_name` names it, `run_dir` gives its folder,
        `log=False` writes nothing, `histogram_freq` adds weight and gradient histograms every so many
        epochs. In a notebook the run shows in a live dashboard (`workbench.viz.LiveDashboard`) instead of
        the text progress bar; `dashboard=False` turns it off, `dashboard=True` asks for it anywhere."""
        from workbench.training import trainer

        return trainer.fit(self, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
                           shuffle, class_weight, sample_weight, initial_epoch, steps_per_epoch, validation_steps,
                           validation_freq, run_name=run_name, run_dir=run_dir, log=log,
                           histogram_freq=histogram_freq, dashboard=dashboard)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """The loss and metrics on the given data."""
        from workbench.training import trainer

        return trainer.evaluate(self, x, y, batch_size, verbose, sample_weight, steps, callbacks, return_dict)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Outputs for the given inputs, batched, as NumPy arrays."""
        from workbench.training import trainer

        return trainer.predict(self, x, batch_size, verbose, steps, callbacks)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        from workbench.training import trainer

        return trainer.train_on_batch(self, x, y, sample_weight, class_weight, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        from workbench.training import trainer

        return trainer.test_on_batch(self, x, y, sample_weight, return_dict)

    def predict_on_batch(self, x):
        from workbench.training import trainer

        return trainer.predict_on_batch(self, x)

    # ------------------------------------------------------------------ summary
    def summary(self, line_length: int | None = None, positions=None, print_fn=None,
                expand_nested: bool = False, show_trainable: bool = False, layer_range=None, *,
                costs: bool = False, sample_batch=None) -> None:
        """Print a table of layers, output shapes and parameter counts (Keras' format).

        `costs=True` adds each layer's forward FLOPs and its share, as XLA counts them for `sample_batch`
        (default: a batch of one, from the model's input shapes); `workbench.profiling.costs.layer_costs`
        gives the full figures."""
        from workbench.core import summary

        measured = None
        if costs:
            from workbench.profiling.costs import layer_costs

            measured = layer_costs(self, sample_batch)
        elif sample_batch is not None:
            raise ValueError("summary(sample_batch=...) is used to count FLOPs: pass costs=True with it.")
        summary.print_summary(self, line_length=line_length, print_fn=print_fn,
                              expand_nested=expand_nested, show_trainable=show_trainable, costs=measured)

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable}
        if self._dtype_policy.name != "float32":
            config["dtype"] = self._dtype_policy.get_config()
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects=None, safe_mode=None):
        """Rebuild a model from `get_config()`; a functional config gives a functional model."""
        if "layers" in config and "input_layers" in config:
            from workbench.core.functional import Functional

            target = Functional if cls is Model else cls
            return Functional.from_config.__func__(target, config, custom_objects, safe_mode)
        return super().from_config(config)

    def to_json(self, **kwargs) -> str:
        """The model's architecture as JSON (`workbench.models.model_from_json` reads it)."""
        from workbench.core import serialization

        return json.dumps(serialization.serialize_layer(self), **kwargs)

    # ------------------------------------------------------------------ saving
    def save_weights(self, filepath, overwrite: bool = True) -> None:
        """Write the weights to a file (safetensors, with a checksum) that loads without running code."""
        from workbench.core import saving

        saving.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch: bool = False) -> None:
        """Load weights written by `save_weights` (or from a `.keras` file written by `save`)."""
        from workbench.core import saving

        saving.load_weights(self, filepath, skip_mismatch=skip_mismatch)

    def save(self, filepath, overwrite: bool = True, **kwargs) -> None:
        """Save architecture, weights and, for a compiled model, its compile config and optimizer state
        into one file (`model.save("name.keras")`); `workbench.saving.load_model` continues training
        where it stopped."""
        from workbench.core import saving

        saving.save_model(self, filepath, overwrite=overwrite, **kwargs)

    def export(self, path=None, signatures=None, platforms=("cpu", "cuda", "tpu"), batch="dynamic", *,
               samples=None, assets=None, formats=(), overwrite: bool = False):
        """Write a self-contained artifact that loads and serves without this model's Python code.

        With no `path` it goes into the last fitted run's `artifacts/<n>/`. `signatures` maps names
        to `workbench.export.Signature`s (default: one, "serving_default", calling the model);
        `batch="dynamic"` keeps the batch size symbolic, an int fixes it. `samples` are inputs
        recorded with their outputs as golden vectors (default: seeded random ones); `assets`
        a folder or {name: bytes | text | path}; `formats` adds "onnx" and/or "saved_model",
        each checked by its own runtime. Returns the artifact's path; `workbench.export.load`
        reads it back.

        >>> path = model.export("exported/digits")                 # doctest: +SKIP
        >>> workbench.export.load(path)(x_test[:8])                 # doctest: +SKIP
        """
        from workbench.export.writer import export_model

        return export_model(self, path, signatures, platforms, batch, samples=samples, assets=assets,
                            formats=formats, overwrite=overwrite)

    def _compile_members(self) -> dict[str, bytes]:
        """The `.keras` members of the training side (`compile.json`, `optimizer.safetensors`), if compiled."""
        from workbench.training import saved_training

        return saved_training.members_to_save(self)

    def _restore_compile_from_members(self, members: dict[str, bytes], custom_objects=None,
                                      source: str = "the model file") -> None:
        """Compile as saved and install the saved optimizer state (called by `load_model(compile=True)`)."""
        from workbench.training import saved_training

        saved_training.restore(self, members, custom_objects=custom_objects, source=source)
