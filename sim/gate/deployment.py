"""What may trade live: a registered strategy version that holds ``production``, whose
promotion the decision log records, and whose artifacts and code reference are the ones the
gate judged.

    deployable = deployable_version("models:/maker@production")
    deployable.strategy, deployable.params     # what to build, as the gate backtested it

Every refusal is a `GateError` (or the log's `DecisionLogError`) naming the version and the
reason, for `bondlab live` to print as one line: an alias other than ``production``, a version
production does not point at, an alias the log does not say the gate moved, a version with no
passing decision, an artifact whose sha256 is not the one the log recorded, a model whose
strategy or parameters differ from the ones judged.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sim.gate import registry
from sim.gate.registry import PRODUCTION, GateError

_MODEL_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/@]+)|/(?P<version>\d+))$")


@dataclass(frozen=True)
class Deployable:
    """A version cleared to trade live, with the decision that cleared it."""

    name: str
    version: int
    strategy: str  # "module:Class"
    params: dict[str, Any]
    learned_model: str | None  # a local copy of its learned model file, if it has one
    decision: dict[str, Any]  # the decision log's record of the passing gate


def parse_model_uri(uri: str) -> tuple[str, str | None, int | None]:
    """``models:/NAME@ALIAS`` or ``models:/NAME/VERSION`` as (name, alias, version)."""
    match = _MODEL_URI.match(uri)
    if match is None:
        raise GateError(f"{uri!r} is not models:/NAME@ALIAS or models:/NAME/VERSION")
    version = match["version"]
    return match["name"], match["alias"], None if version is None else int(version)


def deployable_version(
    model_uri: str,
    *,
    tracking_uri: str | None = None,
    log_folder: str | os.PathLike | None = None,
    download_to: str | os.PathLike | None = None,
) -> Deployable:
    """The version `model_uri` names, once every check passes (see the module doc); its
    artifacts are downloaded into `download_to` (default: a temporary folder)."""
    import mlflow

    uri = registry.tracking_uri(tracking_uri)
    name, alias, version = parse_model_uri(model_uri)
    if alias is not None and alias != PRODUCTION:
        raise GateError(f"{model_uri}: only the {PRODUCTION} alias trades live, not {alias!r}")
    current, _ = registry.production_version(name, tracking_uri=uri)
    if version is not None and version != current:
        raise GateError(
            f"{model_uri}: version {version} does not hold {PRODUCTION} (version {current} does)"
        )
    version = current
    records = registry.history(name, tracking_uri=uri, log_folder=log_folder)  # its chain verified
    logged = registry.production_at(
        name, datetime.now(UTC), tracking_uri=uri, log_folder=log_folder
    )
    if logged != version:
        raise GateError(
            f"{model_uri}: {PRODUCTION} is version {version}, but the decision log "
            f"says {logged}: the alias was moved outside the gate"
        )
    passed = [
        r
        for r in records
        if r["kind"] == "decision" and r["version"] == version and r.get("passed")
    ]
    if not passed:
        raise GateError(f"{model_uri}: version {version} has no passing gate decision")
    decision = passed[-1]
    folder = Path(download_to or tempfile.mkdtemp(prefix="bondlab-live-"))
    client = mlflow.MlflowClient(tracking_uri=uri)
    local = Path(client.download_artifacts(decision["run_id"], "", str(folder)))
    _check_hashes(local, decision["artifacts"], name, version)
    model = mlflow.pyfunc.load_model(f"models:/{name}/{version}").unwrap_python_model()
    if model.strategy != decision["strategy"] or model.params != decision["params"]:
        raise GateError(
            f"{model_uri}: version {version}'s model carries "
            f"{model.strategy} {model.params}, not the strategy and parameters "
            f"the gate judged ({decision['strategy']} {decision['params']})"
        )
    return Deployable(
        name, version, model.strategy, dict(model.params), model.learned_model, decision
    )


def _check_hashes(folder: Path, expected: dict[str, str], name: str, version: int) -> None:
    """Every artifact the decision log hashed is in the run, with that hash. A key is the
    file's path below the run's artifacts, or its name (the report's and the learned
    model's)."""
    found: dict[str, list[str]] = {}
    for path in folder.rglob("*"):
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found.setdefault(path.relative_to(folder).as_posix(), []).append(digest)
    for key, digest in sorted(expected.items()):
        candidates = [
            d for rel, ds in found.items() if rel == key or rel.endswith("/" + key) for d in ds
        ]
        if digest not in candidates:
            state = "is missing" if not candidates else "does not match its logged sha256"
            raise GateError(
                f"registered model {name!r} version {version}: artifact {key} "
                f"{state}: its files were changed after the gate judged them"
            )
