"""The gate's MLflow side: a strategy version is backtested on the policy's suite, logged,
registered and promoted (the ``production`` alias) only when it passes; approval, rollback and
the history, each kept in the decision log (`sim.gate.decisions`) beside the store.

    gate        backtest it and the production version, judge it, log a run (its report
                and each suite run's manifest, hashed), register a version, move the alias
    approve     a ``candidate`` (the gate passed it, approval required) becomes ``production``
    rollback    ``production`` goes back to the version that held it before
    history     the decision log's records of a registered model, its chain verified first

A version carries its strategy's reference and parameters as tags (``strategy``, ``params``),
so that a later gate can re-run the production version (the champion) on the same suite, and
as a pyfunc (`StrategyModel`) whose ``predict`` gives them back: loading
``models:/NAME@production`` says exactly what was approved.

mlflow is imported inside the functions that use it (it costs seconds): `StrategyModel` is
built on first use.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.errors import BondlabError
from sim.gate.checks import Verdict, evaluate
from sim.gate.decisions import DecisionLog, DecisionLogError
from sim.gate.policy import GatePolicy

if TYPE_CHECKING:
    from sim.studies.backtest import Backtest

PRODUCTION = "production"
CANDIDATE = "candidate"
EXPERIMENT = "bondlab-gate"
MODEL_ARTIFACT = "strategy"  # the pyfunc's name in its run
LEARNED_MODEL = "learned_model"  # the pyfunc's artifact key for a learned model file
REPORT_ARTIFACTS = "backtest"  # the run's folder of `write_backtest`'s report
MANIFEST_ARTIFACTS = "manifests"  # the run's folder of each suite run's manifest
DEFAULT_RESULTS = Path("results")


class GateError(BondlabError, ValueError):
    """A registered model, version or alias the gate cannot act on."""


@dataclass(frozen=True)
class GateOutcome:
    """What one gate did: the version it registered, its verdict, the alias it got (None:
    none moved), the production version after, its MLflow run and the log's record."""

    name: str
    version: int
    verdict: Verdict
    alias: str | None
    production: int | None
    run_id: str
    backtest: Any  # sim.studies.backtest.Backtest
    record: dict[str, Any]


def tracking_uri(explicit: str | None = None) -> str:
    """`explicit`, else ``MLFLOW_TRACKING_URI``, else the embedded SQLite store
    ``sqlite:///<results>/mlflow/mlflow.db`` (absolute); a SQLite store's folder and its
    ``artifacts`` folder beside it are created."""
    uri = explicit or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        uri = f"sqlite:///{(DEFAULT_RESULTS / 'mlflow' / 'mlflow.db').resolve()}"
    database = _sqlite_path(uri)
    if database is not None:
        (database.parent / "artifacts").mkdir(parents=True, exist_ok=True)
    return uri


_store_uri = tracking_uri  # the functions below take a `tracking_uri` argument, which hides it


def _sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (None for any other store)."""
    prefix = "sqlite:///"
    return Path(uri[len(prefix) :]) if uri.startswith(prefix) else None


def _log_folder(uri: str, explicit: str | os.PathLike | None) -> Path:
    """Where the decision log lives: `explicit`, else beside the SQLite store, else (a
    server's store) ``<results>/mlflow``."""
    if explicit is not None:
        return Path(explicit)
    database = _sqlite_path(uri)
    return database.parent if database is not None else DEFAULT_RESULTS.resolve() / "mlflow"


def decision_log(
    tracking_uri: str | None = None, log_folder: str | os.PathLike | None = None
) -> DecisionLog:
    """The gate's decision log for the store at `tracking_uri` (see `tracking_uri`):
    `log_folder`, else beside a SQLite store, else ``<results>/mlflow``."""
    return DecisionLog(_log_folder(_store_uri(tracking_uri), log_folder))


@functools.cache
def _strategy_model_class() -> type:
    import mlflow.pyfunc
    import pandas as pd

    class StrategyModel(mlflow.pyfunc.PythonModel):
        """A strategy version as a pyfunc: its reference (``"module:Class"``), its
        parameters and, optionally, a learned model file (the ``learned_model`` artifact).
        ``predict`` returns them, one row, whatever its input."""

        def __init__(self, strategy: str, params: dict[str, Any]) -> None:
            self.strategy = strategy
            self.params = dict(params)
            self.learned_model: str | None = None

        def load_context(self, context) -> None:
            self.learned_model = context.artifacts.get(LEARNED_MODEL)

        def predict(self, context, model_input, params=None):
            row = {"strategy": self.strategy, "params": _params_text(self.params),
                   "learned_model": self.learned_model}  # fmt: skip
            return pd.DataFrame([row])

    StrategyModel.__module__ = __name__
    StrategyModel.__qualname__ = "StrategyModel"
    return StrategyModel


def __getattr__(name: str):
    # The pyfunc class subclasses mlflow's: built once, on first use, so that importing this
    # module does not import mlflow (and unpickling a logged model finds it by name).
    if name == "StrategyModel":
        return _strategy_model_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _params_text(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)


def _tag_key(text: str) -> str:
    """`text` as part of an MLflow tag key (letters, digits, ``_ - . /`` and spaces only)."""
    return re.sub(r"[^\w\-. /]", ".", text)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _client(uri: str):
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _experiment_id(client, uri: str) -> str:
    """The gate's experiment, made on first use; a SQLite store keeps its artifacts beside
    it (MLflow's default is ``./mlruns`` under whatever folder the process runs in)."""
    found = client.get_experiment_by_name(EXPERIMENT)
    if found is not None:
        return found.experiment_id
    database = _sqlite_path(uri)
    location = None if database is None else (database.parent / "artifacts").resolve().as_uri()
    return client.create_experiment(EXPERIMENT, artifact_location=location)


def _alias_version(client, name: str, alias: str) -> int | None:
    """The version `alias` points at, None when it points at none."""
    from mlflow.exceptions import MlflowException

    try:
        return int(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def _require_model(client, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        raise GateError(f"registered model {name!r}: no such model in the registry") from None


def _require_version(client, name: str, version: int):
    from mlflow.exceptions import MlflowException

    _require_model(client, name)
    try:
        return client.get_model_version(name, str(version))
    except MlflowException:
        raise GateError(f"registered model {name!r}: no version {version}") from None


def _figures(aggregate: dict[str, Any]) -> dict[str, float]:
    """The aggregate's finite numeric figures, as MLflow metrics."""
    return {
        key: float(value)
        for key, value in aggregate.items()
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    }


def gate(
    strategy: str,
    params: dict[str, Any] | None,
    name: str,
    policy: GatePolicy,
    *,
    tracking_uri: str | None = None,
    log_folder: str | os.PathLike | None = None,
    who: str = "ci",
    require_approval: bool | None = None,
    learned_model: str | os.PathLike | None = None,
    workers: int = 1,
) -> GateOutcome:
    """Backtest `strategy` (``"module:Class"``) with `params` on `policy`'s suite, judge it
    against the policy and the production version (re-run on the same suite), then log the
    run to MLflow and register it as a new version of `name`, born with its verdict's tags.
    Passing, it becomes ``production`` (``candidate`` when approval is required:
    `require_approval`, else the policy's); failing, its tags name each failed check and no
    alias moves. The decision goes to the decision log in `log_folder` (default: beside the
    SQLite store). Both backtests and the verdict come before anything is logged: a suite
    or a champion that cannot run leaves no version and no decision behind."""
    from sim.studies.backtest import backtest

    uri = _store_uri(tracking_uri)
    log = decision_log(uri, log_folder)
    broken = log.verify()
    if broken is not None:  # refuse before spending a backtest on a log it cannot append to
        raise DecisionLogError(f"{log.path}:{broken.line}: {broken.reason}")
    client = _client(uri)
    suite = policy.suite
    tested = backtest(strategy, params, suite.scenarios, suite.seeds,
                      overrides=suite.overrides, workers=workers)  # fmt: skip
    champion_version, champion = _rerun_champion(client, name, policy, workers)
    verdict = evaluate(tested, policy, champion)
    approval = policy.approval.required if require_approval is None else require_approval
    alias = (CANDIDATE if approval else PRODUCTION) if verdict.passed else None

    figures = _figures(tested.aggregate())
    run_id, version, hashes = _log_and_register(
        client, uri, name, tested, figures, _verdict_tags(verdict), learned_model
    )
    if alias is not None:
        client.set_registered_model_alias(name, alias, str(version))
    production = version if alias == PRODUCTION else champion_version
    record = log.append(
        "decision",
        name,
        version,
        who=who,
        passed=verdict.passed,
        alias=alias,
        reason=verdict.reason(),
        checks=verdict.to_dict()["checks"],
        thresholds=policy.thresholds.model_dump(),
        metrics=figures,
        artifacts=hashes,
        strategy=tested.strategy,
        params=tested.params,
        champion=champion_version,
        run_id=run_id,
        production=production,
    )
    return GateOutcome(name, version, verdict, alias, production, run_id, tested, record)


def _rerun_champion(
    client, name: str, policy: GatePolicy, workers: int
) -> tuple[int | None, Backtest | None]:
    """The production version of `name` and its backtest on `policy`'s suite, (None, None)
    when no version holds production; a GateError when it cannot be re-run, since a
    challenger cannot be judged without it."""
    from sim.studies.backtest import backtest

    version = _alias_version(client, name, PRODUCTION)
    if version is None:
        return None, None
    tags = client.get_model_version(name, str(version)).tags
    if "strategy" not in tags:
        raise GateError(
            f"registered model {name!r}: production version {version} has no strategy tag "
            "(registered outside the gate), so it cannot be re-run"
        )
    suite = policy.suite
    try:
        rerun = backtest(tags["strategy"], json.loads(tags.get("params", "{}")),
                         suite.scenarios, suite.seeds, overrides=suite.overrides,
                         workers=workers)  # fmt: skip
    except BondlabError as exc:
        raise GateError(
            f"registered model {name!r}: production version {version} cannot be re-run to "
            f"judge a challenger against it: {exc}"
        ) from None
    return version, rerun


def _verdict_tags(verdict: Verdict) -> dict[str, str]:
    """A version's tags for its verdict: ``gate.passed``, then each check's figure when it
    passed, or each failed check described when it did not."""
    if verdict.passed:
        figures = {f"gate.{_tag_key(check.name)}": str(check.value) for check in verdict.checks}
        return {"gate.passed": "true", **figures}
    failed = {f"gate.failed.{_tag_key(check.name)}": check.describe() for check in verdict.failed()}
    return {"gate.passed": "false", **failed}


def _log_and_register(
    client,
    uri: str,
    name: str,
    tested: Backtest,
    figures: dict[str, float],
    verdict_tags: dict[str, str],
    learned_model: str | os.PathLike | None,
) -> tuple[str, int, dict[str, str]]:
    """Log `tested` as an MLflow run (parameters, metrics, the backtest report, each run's
    manifest, the sha256 of every file as a tag) with the strategy's pyfunc, and register
    that as a new version of `name` tagged with its strategy, parameters and `verdict_tags`;
    returns the run's id, the version and the hashes."""
    import mlflow

    from sim.studies.backtest import write_backtest

    with tempfile.TemporaryDirectory(prefix="bondlab-gate-") as scratch:
        report = write_backtest(tested, Path(scratch) / REPORT_ARTIFACTS)
        manifests = _write_manifests(tested, Path(scratch) / MANIFEST_ARTIFACTS)
        hashes = {path.name: _sha256(path) for path in sorted(report.iterdir())}
        hashes |= {
            f"{MANIFEST_ARTIFACTS}/{p.name}": _sha256(p) for p in sorted(manifests.iterdir())
        }
        if learned_model is not None:
            hashes[Path(learned_model).name] = _sha256(Path(learned_model))
        with mlflow.start_run(experiment_id=_experiment_id(client, uri), run_name=name) as run:
            mlflow.log_params({"strategy": tested.strategy, **tested.params})
            mlflow.log_metrics(figures)
            mlflow.log_artifacts(str(report), REPORT_ARTIFACTS)
            mlflow.log_artifacts(str(manifests), MANIFEST_ARTIFACTS)
            mlflow.set_tags({f"sha256.{_tag_key(file)}": digest for file, digest in hashes.items()})
            info = mlflow.pyfunc.log_model(
                name=MODEL_ARTIFACT,
                python_model=_strategy_model_class()(tested.strategy, tested.params),
                artifacts=None if learned_model is None else {LEARNED_MODEL: str(learned_model)},
                pip_requirements=[f"mlflow=={mlflow.__version__}", "pandas"],
            )
    version_tags = {"strategy": tested.strategy, "params": _params_text(tested.params),
                    **verdict_tags}  # fmt: skip
    registered = mlflow.register_model(info.model_uri, name, tags=version_tags)
    return run.info.run_id, int(registered.version), hashes


def _write_manifests(tested: Backtest, folder: Path) -> Path:
    """Each run's manifest (resolved scenario and its hash, seed, git commit, package
    versions) as ``<scenario>-seed<N>.json`` in `folder`: what reproduces the gate's runs."""
    folder.mkdir()
    for one in tested.runs:
        text = json.dumps(one.manifest, indent=2, sort_keys=True) + "\n"
        (folder / f"{one.scenario}-seed{one.seed}.json").write_text(text)
    return folder


def approve(
    name: str,
    version: int,
    by: str,
    *,
    tracking_uri: str | None = None,
    log_folder: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Make `version` of `name`, the ``candidate``, ``production``; returns the log's record."""
    uri = _store_uri(tracking_uri)
    client = _client(uri)
    _require_version(client, name, version)
    if _alias_version(client, name, CANDIDATE) != int(version):
        raise GateError(f"registered model {name!r}: version {version} is not the candidate")
    log = decision_log(uri, log_folder)
    before = _alias_version(client, name, PRODUCTION)
    client.set_registered_model_alias(name, PRODUCTION, str(version))
    client.delete_registered_model_alias(name, CANDIDATE)
    client.set_model_version_tag(name, str(version), "gate.approved_by", by)
    return log.append("approval", name, int(version), who=by,
                      reason=f"approved by {by}", previous=before,
                      production=int(version))  # fmt: skip


def rollback(
    name: str,
    *,
    who: str = "ci",
    tracking_uri: str | None = None,
    log_folder: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Give ``production`` of `name` back to the version that held it before the current
    one (the decision log says which); returns the log's record."""
    uri = _store_uri(tracking_uri)
    client = _client(uri)
    _require_model(client, name)
    log = decision_log(uri, log_folder)
    current = _alias_version(client, name, PRODUCTION)
    held = _production_stack(history(name, tracking_uri=uri, log_folder=log.path.parent))
    if current is None or not held or held[-1] != current:
        raise GateError(
            f"registered model {name!r}: production is version {current}, but the decision "
            f"log says {held[-1] if held else None}: the alias was moved outside the gate"
        )
    if len(held) < 2:
        raise GateError(f"registered model {name!r}: no earlier production version to roll back to")
    target = held[-2]
    client.set_registered_model_alias(name, PRODUCTION, str(target))
    return log.append("rollback", name, target, who=who,
                      reason=f"rolled back from version {current}", previous=current,
                      production=target)  # fmt: skip


def _production_stack(records: list[dict[str, Any]]) -> list[int]:
    """The versions promoted to production and still behind the current one, oldest first:
    a promotion pushes, a rollback pops, so two rollbacks go back two versions."""
    held: list[int] = []
    for record in records:
        if record["kind"] == "rollback":
            held.pop()
        elif record.get("production") is not None and record["production"] not in held[-1:]:
            held.append(record["production"])
    return held


def history(
    name: str,
    *,
    tracking_uri: str | None = None,
    log_folder: str | os.PathLike | None = None,
) -> list[dict[str, Any]]:
    """The decision log's records of `name`, oldest first, once its chain is verified."""
    log = decision_log(tracking_uri, log_folder)
    broken = log.verify()
    if broken is not None:
        raise DecisionLogError(f"{log.path}:{broken.line}: {broken.reason}")
    records = log.history(name)
    if not records:
        raise GateError(f"registered model {name!r}: no decisions in {log.path}")
    return records


def production_at(
    name: str,
    when: datetime,
    *,
    tracking_uri: str | None = None,
    log_folder: str | os.PathLike | None = None,
) -> int | None:
    """The version of `name` that was production at `when` (None before any), from the
    verified decision log."""
    history(name, tracking_uri=tracking_uri, log_folder=log_folder)  # verified, and known
    return decision_log(tracking_uri, log_folder).production_at(name, when)


def production_version(name: str, *, tracking_uri: str | None = None) -> tuple[int, dict[str, str]]:
    """The version of `name` that ``production`` points at, and that version's tags."""
    client = _client(_store_uri(tracking_uri))
    _require_model(client, name)
    version = _alias_version(client, name, PRODUCTION)
    if version is None:
        raise GateError(f"registered model {name!r}: no version holds production")
    return version, dict(client.get_model_version(name, str(version)).tags)
