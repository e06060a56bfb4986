"""Export: self-contained artifacts that load and serve without the model's Python code.

`model.export(path)` writes one; `load(path)` gives back its signatures as
callables; `verify(path)` rechecks it. See `workbench.export.writer` for the
artifact's layout.
"""

from workbench.export.artifact import Artifact, load, verify
from workbench.export.artifact import Signature as LoadedSignature
from workbench.export.inputs import InputError
from workbench.export.integrity import ArtifactError
from workbench.export.specs import Signature, TensorSpec
from workbench.export.writer import export_model

__all__ = [
    "Artifact",
    "ArtifactError",
    "InputError",
    "LoadedSignature",
    "Signature",
    "TensorSpec",
    "export_model",
    "load",
    "verify",
]
