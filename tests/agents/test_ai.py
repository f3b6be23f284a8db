"""The AI agent: walk-forward discipline of its signal, its explained orders and a short real run
(its guardrails are tested in tests/strategy/test_guardrails.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from agents.ai import KIND, AIParams, MicrostructureSignal
from sim.engine.kernel import run
from sim.market.messages import Quote
from sim.scenario.model import load_scenario
from sim.scenario.registry import agent_kinds, register
from sim.strategy.features import fit_model, hit_rate
from tests.helpers.strategies import FakeContext

if "ai" not in agent_kinds():
    register(KIND)

DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "ai_demo.toml"


# --- the model ---------------------------------------------------------------------------------


def planted(rng, n: int, signal: float) -> tuple[np.ndarray, np.ndarray]:
    """Features like the agent's; the label is `signal` x imbalance plus unit noise."""
    features = rng.normal(size=(n, 9))
    return features, signal * features[:, 5] + rng.normal(size=n)


def test_planted_signal_is_found_and_noise_is_not():
    params = AIParams(n_estimators=30)
    rng = np.random.default_rng(11)
    for signal, low, high in ((1.5, 0.8, 1.0), (0.0, 0.45, 0.55)):
        features, labels = planted(rng, 3000, signal)
        model = fit_model(features[:2000], labels[:2000], params, seed=3)
        rate = hit_rate(model.predict(features[2000:]), labels[2000:])
        assert low < rate < high, (signal, rate)
    again = fit_model(features[:2000], labels[:2000], params, seed=3)
    assert np.array_equal(model.predict(features), again.predict(features))  # deterministic


SMALL_MODEL = {"min_train_rows": 60, "retrain_every": 40, "n_estimators": 15,
               "min_leaf_rows": 10, "threshold_ticks": 0.0}  # fmt: skip


class ExplainedContext(FakeContext):
    """The fake context, keeping the decision each order carries."""

    def __init__(self) -> None:
        super().__init__()
        self.decisions: list[dict] = []

    def submit(self, venue, symbol, side, qty, price=None, tif="GTC", decision=None, **options):
        super().submit(venue, symbol, side, qty, price, tif, **options)
        self.decisions.append(decision)


def contributions_add_up(decision: dict) -> bool:
    total = sum(decision["contributions"].values())
    return total == pytest.approx(decision["prediction"], abs=1e-9)


def drive(signal: MicrostructureSignal, steps: int, strength: float, seed: int):
    """Run the strategy on a book whose touch imbalance moves the next mid by `strength` ticks
    (plus noise); returns the context."""
    rng = np.random.default_rng(seed)
    ctx = ExplainedContext()
    signal.on_start(ctx)
    mid = 10_000
    for _ in range(steps):
        imbalance = rng.uniform(-1, 1)
        bid_qty = round(50 * (1 + imbalance))
        ctx.now += ctx.timer
        ctx.book = Quote(ctx.now, mid - 1, bid_qty, mid + 1, 100 - bid_qty)
        signal.on_timer(ctx)
        mid += round(strength * imbalance + rng.normal(0, 1.5))
    return ctx


def test_walk_forward_uses_only_labels_that_ended_before_the_prediction():
    params = AIParams(horizon_steps=5, train_window=100, **SMALL_MODEL)
    signal = MicrostructureSignal("EXCH", "ABM", params, seed=1)
    drive(signal, 400, 2.0, seed=2)
    assert len(signal.windows) >= 5 and signal.predictions
    for window in signal.windows:
        assert window.last_label_step == window.last_row + 5 <= window.step
        assert window.last_row - window.first_row + 1 <= 100  # the rolling window
    assert signal.predictions[0][0] > signal.windows[0].step  # no model, no prediction
    for when, model in signal.predictions:
        assert signal.windows[model].last_label_step < when
        assert model == max(i for i, w in enumerate(signal.windows) if w.step < when)


def test_signal_trades_a_planted_imbalance_and_not_noise():
    params = AIParams(horizon_steps=1, **SMALL_MODEL)
    found = MicrostructureSignal("EXCH", "ABM", params, seed=1)
    ctx = drive(found, 600, 4.0, seed=5)
    noise = MicrostructureSignal("EXCH", "ABM", params, seed=1)
    drive(noise, 600, 0.0, seed=5)
    assert found.hit_rate > 0.75
    assert 0.4 < noise.hit_rate < 0.6
    assert ctx.submitted and all(r[6] == "IOC" and r[4] == params.clip for r in ctx.submitted)
    assert {r[3] for r in ctx.submitted} == {"buy", "sell"}


def test_every_order_carries_its_explained_decision():
    params = AIParams(horizon_steps=1, **SMALL_MODEL)
    signal = MicrostructureSignal("EXCH", "ABM", params, seed=1)
    ctx = drive(signal, 300, 4.0, seed=5)
    assert ctx.submitted and len(ctx.decisions) == len(ctx.submitted)
    for (_, _, _, side, *_), why in zip(ctx.submitted, ctx.decisions, strict=True):
        assert set(why) == {"prediction", "threshold", "contributions", "model"}
        assert set(why["contributions"]) == {*signal.names, "bias"}
        assert contributions_add_up(why)
        # A zero threshold plus half the book's 2-tick spread, cleared in the order's direction.
        assert why["threshold"] == 1.0 and abs(why["prediction"]) > 1.0
        assert (why["prediction"] > 0) == (side == "buy")
        assert 1 <= why["model"] <= len(signal.windows)


def test_params_say_what_is_wrong():
    with pytest.raises(ValidationError, match="short_window must be smaller than long_window"):
        AIParams(short_window=30, long_window=30)


# --- a short real run --------------------------------------------------------------------------

# The first 75 minutes of the calibrated market, whole: a thinned crowd (say 30 value
# investors against 12 momentum traders) lets trends run away.
SHORT = ["calendar.close=\"10:45\"", "ai.min_train_rows=100", "ai.retrain_every=50",
         "ai.n_estimators=15"]  # fmt: skip
COLUMNS = ("models_trained", "last_train_rows", "hit_rate", "refused_position", "refused_var",
           "refused_kill_switch", "kill_switch_tripped", "max_drawdown_rupees")  # fmt: skip


def test_short_run_trains_conserves_repeats_and_explains(tmp_path):
    result = run(load_scenario(DEMO, overrides=SHORT), out=tmp_path / "a")
    assert result.metrics["ledger"]["conserved"]
    rows = result.agents.filter(result.agents["kind"] == "ai").to_dicts()
    assert len(rows) == 1 and set(COLUMNS) <= set(rows[0])
    assert rows[0]["models_trained"] >= 5 and rows[0]["last_train_rows"] > 100
    assert 0 <= rows[0]["hit_rate"] <= 1 and rows[0]["kill_switch_tripped"] == 0
    assert result.metrics["ai"]["agents"] == 1
    again = run(load_scenario(DEMO, overrides=SHORT), out=tmp_path / "b")
    assert again.agents.equals(result.agents) and again.orders.equals(result.orders)
    assert again.decisions.equals(result.decisions)
    # Its orders carry their decisions through its guardrails, recorded by the venue's id.
    (agent,) = result.agents.filter(pl.col("kind") == "ai")["agent"]
    orders = result.orders.filter(pl.col("agent") == agent).unique(
        "order_id", keep="first", maintain_order=True
    )
    decisions = result.decisions.filter(pl.col("agent") == agent)
    joined = decisions.join(orders, on=["venue", "instrument", "order_id"])
    assert orders.height > 0 and decisions.height == joined.height == orders.height
    for row in joined.rows(named=True):
        why = json.loads(row["details"])
        assert contributions_add_up(why) and abs(why["prediction"]) > why["threshold"]
        assert (why["prediction"] > 0) == (row["side"] == 1) and why["model"] >= 1


def test_importing_the_agent_does_not_import_lightgbm():
    code = "import sys, agents.ai; print('lightgbm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
