"""The gate's policy (``gate.toml``): the backtest suite a strategy must pass and the
thresholds it must clear. `sim/gate/gate.toml` ships seed 003's: Sharpe >= 1.5 and maximum
drawdown <= 5% over the suite, a drawdown bound in each stress scenario, and a challenger
must beat the production version on the same seeds.

    [suite]
    scenarios = ["baseline", "covid_2020"]   # names or files; stress files among them
    seeds = [1, 2, 3]                        # fixed: every version is scored on the same runs
    overrides = []                           # `key.path=value` for every scenario

    [thresholds]
    min_sharpe = 1.5                         # aggregate: the pooled daily returns
    max_drawdown = 0.05                      # aggregate, as a positive fraction
    stress_max_drawdown = 0.10               # the worst run of each stress scenario
    beat_champion_by = 0.0                   # Sharpe over the production version's

    [approval]
    required = false                         # true: a passing version waits as candidate

    [monitoring]
    max_sharpe_drop = 1.0                    # below the gate's Sharpe by more: degraded
    max_drawdown = 0.05                      # a drawdown beyond: degraded
    auto_rollback = true
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, StrictBool, ValidationError

from sim.errors import BondlabError
from sim.scenario.config import (
    ConfigModel,
    Float,
    Int,
    TomlFileError,
    pydantic_problems,
    read_toml,
)


class PolicyError(BondlabError, ValueError):
    """A gate policy file that cannot be used; one line per problem."""


class Suite(ConfigModel):
    scenarios: tuple[str, ...] = Field(("baseline",), min_length=1)
    seeds: tuple[Int, ...] = Field((1, 2, 3), min_length=1)
    overrides: tuple[str, ...] = ()


class Thresholds(ConfigModel):
    min_sharpe: Float = 1.5
    max_drawdown: Float = Field(0.05, gt=0, le=1)
    stress_max_drawdown: Float = Field(0.10, gt=0, le=1)
    beat_champion_by: Float = 0.0


class Approval(ConfigModel):
    required: StrictBool = False


class Monitoring(ConfigModel):
    max_sharpe_drop: Float = Field(1.0, ge=0)
    max_drawdown: Float = Field(0.05, gt=0, le=1)
    auto_rollback: StrictBool = True


class GatePolicy(ConfigModel):
    """A gate's policy: its suite, thresholds, approval and monitoring rules."""

    suite: Suite = Suite()
    thresholds: Thresholds = Thresholds()
    approval: Approval = Approval()
    monitoring: Monitoring = Monitoring()


def load_policy(path: str | Path | None = None) -> GatePolicy:
    """The policy in `path` (default: the shipped `sim/gate/gate.toml`); raises
    `PolicyError` naming the file, the field and the reason."""
    path = Path(path) if path is not None else default_policy_path()
    try:
        data = read_toml(path, what="gate policy")
    except TomlFileError as exc:
        raise PolicyError(str(exc)) from None
    try:
        return GatePolicy.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"{path}: {'.'.join(str(p) for p in loc)}: {reason}"
            for loc, reason in pydantic_problems(exc, GatePolicy, data)
        ]
        raise PolicyError("\n".join(lines)) from None


def default_policy_path() -> Path:
    """The shipped policy: seed 003's thresholds."""
    return Path(__file__).parent / "gate.toml"
