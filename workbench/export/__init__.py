"""Export: self-contained artifacts that load and serve without the model's Python code.

`model.export(path)` writes one; `load(path)` gives back its signatures as
callables; `verify(path)` rechecks it (see `workbench.export.writer` for the
artifact's layout). `Repository` keeps numbered versions with labels, and
`workbench.export.server` serves them over TensorFlow Serving's REST API.
"""

from workbench.export.artifact import Artifact, load, verify
from workbench.export.artifact import Signature as LoadedSignature
from workbench.export.gate import Gate, GateError, GateResult
from workbench.export.inputs import InputError
from workbench.export.integrity import ArtifactError
from workbench.export.repository import Repository, RepositoryError
from workbench.export.specs import Signature, TensorSpec
from workbench.export.writer import export_model

__all__ = [
    "Artifact",
    "ArtifactError",
    "Gate",
    "GateError",
    "GateResult",
    "InputError",
    "LoadedSignature",
    "Repository",
    "RepositoryError",
    "Signature",
    "TensorSpec",
    "export_model",
    "load",
    "verify",
]
