"""LightGBM alpha: its decision rule on hand-worked numbers (a real model whose predictions are
known), walk-forward discipline, explained orders, and runs in the baseline that trade, repeat
bit for bit, and save a model that a second run trades with from its first step."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sim
from sim.engine.kernel import Simulation
from sim.market.instrument import Instrument
from sim.market.messages import Quote, Response
from sim.market.orders import Reason, Status
from sim.strategy.api import Component, Valuation
from sim.strategy.features import fit_model
from sim.strategy.loading import StrategyError, strategy_params
from strategies.lgbm_alpha import LgbmAlpha, load_model, order_units, side_of

# --- a context by hand ---------------------------------------------------------------------------


class Desk:
    """The Context by hand: bond A listed on NSE then BSE, bond B on NSE (a tick is 0.01 per
    100 face, a unit 1,000 rupees of face: 10 paise a tick), its account, and what the strategy
    sent and logged."""

    def __init__(self) -> None:
        self.markets = (("NSE", "A"), ("BSE", "A"), ("NSE", "B"))
        self.quotes: dict[tuple[str, str], Quote] = {}
        self.fair = {"A": 100.0, "B": 100.0}  # clean per 100 face
        self.held = {"A": 0, "B": 0}
        self.free = {"A": 0, "B": 0}
        self.cash = 10**10
        self.now = 0
        self.timer = None
        self.sent: list[tuple] = []  # (venue, symbol, side, qty, price, tif, decision)
        self.lines: list[tuple[str, dict]] = []

    def quote(self, venue, symbol):
        return self.quotes.get((venue, symbol), Quote(self.now, None, 0, None, 0))

    def valuation(self, symbol):
        components = (
            Component("rating_spread", 120.0, -4.0),
            Component("credit_adjustment", 0.0, 0.0),
            Component("liquidity_premium", 6.5, -0.2),
        )
        return Valuation(
            symbol, self.now, self.fair[symbol], 0.0, None, None, None, components, None
        )

    def instrument(self, symbol):
        return Instrument(symbol, "0.01", 1, 1000)

    def position(self, symbol):
        return self.held[symbol]

    def free_units(self, symbol):
        return self.free[symbol]

    def free_cash(self):
        return self.cash

    def submit(self, venue, symbol, side, qty, price=None, tif="GTC", decision=None):
        self.sent.append((venue, symbol, side, qty, price, tif, decision))

    def log(self, message, **fields):
        self.lines.append((message, fields))

    def set_timer(self, interval_ns):
        self.timer = interval_ns

    def step(self, strategy) -> list[tuple]:
        """One timer, every order it sends answered (filled): what it sent."""
        before = len(self.sent)
        self.now += self.timer
        strategy.on_timer(self)
        for venue, symbol, side, qty, price, tif, _ in self.sent[before:]:
            request = ("new", venue, symbol, side, qty, price, tif)
            strategy.on_order(self, request, Response(symbol, 1, Status.FILLED, Reason.NONE))
        return self.sent[before:]


def touch(bid: int, ask: int, bid_qty: int, ask_qty: int) -> Quote:
    return Quote(0, bid, bid_qty, ask, ask_qty)


def contributions_add_up(decision: dict) -> bool:
    total = sum(decision["contributions"].values())
    return total == pytest.approx(decision["prediction"], abs=1e-9)


# --- the rule on hand-worked numbers -------------------------------------------------------------


@pytest.mark.parametrize(
    ("prediction", "spread", "threshold", "side"),
    [
        (3.0, 4, 0.5, 1),  # 3 - 2 = 1 > 0.5: buy
        (2.5, 4, 0.5, 0),  # 2.5 - 2 = 0.5, not above it: wait
        (-2.6, 4, 0.5, -1),  # 2.6 - 2 = 0.6: sell
        (3.0, 6, 0.0, 0),  # 3 - 3 = 0: the whole move is the cost of crossing
        (0.1, 0, 0.0, 1),  # a locked book: any move up clears a zero threshold
    ],
)
def test_it_trades_only_moves_that_clear_the_threshold_net_of_half_the_spread(
    prediction, spread, threshold, side
):
    assert side_of(prediction, spread, threshold) == side


@pytest.mark.parametrize(
    ("side", "held", "free", "affordable", "lot", "expected"),
    [
        (1, 0, 0, 1000, 1, 10),  # the clip
        (1, 95, 0, 1000, 1, 5),  # the room left under a limit of 100
        (1, 100, 0, 1000, 1, 0),  # at the limit
        (1, 0, 0, 3, 1, 3),  # what its cash pays for
        (1, 95, 0, 1000, 2, 4),  # whole lots of 2
        (-1, 50, 7, 0, 1, 7),  # the free units: settled and not offered
        (-1, 50, 30, 0, 1, 10),  # the clip
        (-1, 0, 0, 0, 1, 0),  # nothing to sell: it never shorts
    ],
)
def test_order_size_on_hand_worked_numbers(side, held, free, affordable, lot, expected):
    qty = order_units(
        side, held=held, free_units=free, affordable=affordable, clip=10, max_position=100, lot=lot
    )
    assert qty == expected


@given(
    side=st.sampled_from([1, -1]),
    held=st.integers(0, 300),
    free=st.integers(0, 300),
    affordable=st.integers(0, 300),
    clip=st.integers(1, 50),
    max_position=st.integers(1, 200),
    lot=st.integers(1, 7),
)
def test_orders_stay_within_the_limit_the_cash_and_the_holding(
    side, held, free, affordable, clip, max_position, lot
):
    free = min(free, held)  # free units are units held
    qty = order_units(
        side,
        held=held,
        free_units=free,
        affordable=affordable,
        clip=clip,
        max_position=max_position,
        lot=lot,
    )
    assert qty >= 0 and qty % lot == 0 and qty <= clip
    if side > 0:
        assert qty <= affordable and (qty == 0 or held + qty <= max_position)
    else:
        assert qty <= free  # what it sells it has: never short


# --- through a context by hand, with a model whose predictions are known ------------------------

KNOWN = {"n_estimators": 1, "num_leaves": 2, "learning_rate": 1.0, "min_leaf_rows": 1}


def known_model(tmp_path, names):
    """A real LightGBM model predicting +3 ticks when the touch leans to the bid (imbalance > 0)
    and -3 otherwise, saved in LightGBM's text format."""
    rows = np.zeros((200, len(names)))
    rows[:, names.index("imbalance")] = np.tile([0.5, -0.5], 100)
    labels = np.where(rows[:, names.index("imbalance")] > 0, 3.0, -3.0)
    params = LgbmAlpha.Params(**KNOWN)
    path = tmp_path / "known.txt"
    path.write_text(fit_model(rows, labels, params, 0, names).model_to_string())
    return path


def test_it_buys_and_sells_on_hand_worked_numbers(tmp_path):
    names = LgbmAlpha().names
    params = LgbmAlpha.Params(
        model_in=str(known_model(tmp_path, names)),
        threshold_ticks=0.5,
        clip_lots=10,
        max_position=100,
        min_train_rows=10**6,  # trades with the model it was given throughout
    )
    strategy = LgbmAlpha(params)
    desk = Desk()
    strategy.on_start(desk)
    assert desk.timer == 60 * 10**9

    # A leans to the bid (+0.5): +3 predicted, 3 - 4/2 = 1 > 0.5: buy the 5 units left under
    # the limit at NSE's ask (the first listing; BSE's better ask is not its market).
    # B leans to the ask (-0.5): -3 predicted, 3 - 6/2 = 0: wait.
    desk.held["A"] = 95
    desk.quotes = {
        ("NSE", "A"): touch(9_998, 10_002, 60, 20),
        ("BSE", "A"): touch(9_990, 9_995, 60, 20),
        ("NSE", "B"): touch(9_997, 10_003, 20, 60),
    }
    (buy,) = desk.step(strategy)
    assert buy[:6] == ("NSE", "A", "buy", 5, 10_002, "IOC")
    why = buy[6]
    assert why["prediction"] == pytest.approx(3.0) and why["threshold"] == 2.5
    assert why["model"] == 0 and contributions_add_up(why)
    assert set(why["contributions"]) == {*names, "bias"}
    assert why["contributions"]["imbalance"] == pytest.approx(3.0)  # the one driver

    # At the limit A is left alone; B's spread narrows to 4: sell the 3 free units at the bid.
    desk.held.update(A=100, B=8)
    desk.free["B"] = 3
    desk.quotes[("NSE", "B")] = touch(9_998, 10_002, 20, 60)
    (sell,) = desk.step(strategy)
    assert sell[:6] == ("NSE", "B", "sell", 3, 9_998, "IOC")
    assert sell[6]["prediction"] == pytest.approx(-3.0) and contributions_add_up(sell[6])

    # Nothing free to sell: no short. Room under the limit, but cash for 2 units only:
    # 2,50,000 paise less 0.1% for fees at 1,00,020 paise a unit (10,002 ticks of 10 paise).
    desk.held.update(A=0, B=3)
    desk.free["B"] = 0
    desk.cash = 250_000
    (buy,) = desk.step(strategy)
    assert buy[:6] == ("NSE", "A", "buy", 2, 10_002, "IOC")


def test_one_order_per_bond_is_on_its_way_at_a_time(tmp_path):
    strategy = LgbmAlpha(LgbmAlpha.Params(model_in=str(known_model(tmp_path, LgbmAlpha().names))))
    desk = Desk()
    strategy.on_start(desk)
    desk.quotes = {("NSE", "A"): touch(9_998, 10_002, 60, 20)}
    strategy.on_timer(desk)
    strategy.on_timer(desk)  # the first is not answered yet
    assert [s[:4] for s in desk.sent] == [("NSE", "A", "buy", 10)]


# --- walk-forward --------------------------------------------------------------------------------

SMALL = {"return_lags": (1, 2), "short_window": 2, "long_window": 4, "vol_window": 4,
         "horizon_steps": 3, "min_train_rows": 40, "retrain_every": 10, "n_estimators": 5,
         "min_leaf_rows": 5, "learning_rate": 0.3, "threshold_ticks": 0.0}  # fmt: skip


def drive(strategy: LgbmAlpha, steps: int, seed: int, strength: float = 8.0) -> Desk:
    """Bonds A and B whose next mid moves `strength` ticks times the touch imbalance, plus
    noise."""
    rng = np.random.default_rng(seed)
    desk = Desk()
    desk.markets = (("NSE", "A"), ("NSE", "B"))
    desk.held.update(A=50, B=50)
    desk.free.update(A=50, B=50)
    strategy.on_start(desk)
    mids = {"A": 10_000, "B": 10_100}
    for _ in range(steps):
        for symbol in mids:
            lean = rng.uniform(-1, 1)
            bid_qty = round(50 * (1 + lean))
            desk.quotes[("NSE", symbol)] = touch(
                mids[symbol] - 1, mids[symbol] + 1, bid_qty, 100 - bid_qty
            )
            mids[symbol] += round(strength * lean + rng.normal(0, 1))
        desk.step(strategy)
    return desk


def test_each_prediction_comes_from_a_model_fitted_on_labels_that_ended_before_it():
    strategy = LgbmAlpha(LgbmAlpha.Params(**SMALL, train_window=30))
    desk = drive(strategy, 150, seed=2)
    fits, predictions = strategy.fits, strategy.predictions
    assert len(fits) >= 5 and predictions
    for fit in fits:
        assert fit.last_label_step <= fit.step  # a label is known once it ends
        assert fit.rows <= 2 * 30  # two bonds over the rolling window
    first_fit = fits[0].step
    assert predictions[0][0] == first_fit + 1  # no model, no prediction
    assert all(np.isnan(strategy.predicted[s]).all() for s in range(first_fit + 1))
    for step, number in predictions:
        assert number >= 1 and fits[number - 1].last_label_step < step
        assert number == max(n for n, f in enumerate(fits, 1) if f.step < step)  # the latest
    assert [message for message, _ in desk.lines].count("fitted") == len(fits)
    assert desk.sent and all(contributions_add_up(s[6]) for s in desk.sent)


def test_its_hit_rate_scores_a_planted_lean_and_not_noise():
    params = LgbmAlpha.Params(**{**SMALL, "horizon_steps": 1})
    found, noise = LgbmAlpha(params), LgbmAlpha(params)
    drive(found, 150, seed=5)
    drive(noise, 150, seed=5, strength=0.0)
    assert found.hit_rate() > 0.75
    assert 0.35 < noise.hit_rate() < 0.65  # about 230 scored pairs: sd 0.03 around a half


# --- the model's file ----------------------------------------------------------------------------


def test_a_model_for_other_features_or_not_a_model_is_one_clear_line(tmp_path):
    names = LgbmAlpha().names
    other = LgbmAlpha(LgbmAlpha.Params(return_lags=(1, 3))).names
    path = known_model(tmp_path, other)
    with pytest.raises(StrategyError, match=r"its features .* are not this strategy's") as caught:
        load_model(str(path), names)
    assert "\n" not in str(caught.value)
    junk = tmp_path / "junk.txt"
    junk.write_text("not a model\n")
    with pytest.raises(
        StrategyError, match=r"^LgbmAlpha model_in '.*junk.txt': not a LightGBM model file$"
    ):
        load_model(str(junk), names)


def test_model_files_are_checked_with_the_parameters(tmp_path):
    with pytest.raises(StrategyError, match=r"model_in: no such file '.*missing.txt'$") as caught:
        strategy_params(LgbmAlpha, {"model_in": str(tmp_path / "missing.txt")})
    assert str(caught.value).startswith("LgbmAlpha params: ") and "\n" not in str(caught.value)
    with pytest.raises(StrategyError, match=r"model_path: no folder to write '.*m.txt' into$"):
        strategy_params(LgbmAlpha, {"model_path": str(tmp_path / "nowhere" / "m.txt")})


def test_importing_the_strategy_does_not_import_lightgbm():
    code = "import sys, strategies.lgbm_alpha; print('lightgbm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- in the baseline -----------------------------------------------------------------------------

# The baseline, small: two days, fewer retail and SIP investors, no repo desk and no AI agent;
# fifty units of every bond so that its sell signals can act; a step of two minutes.
REDUCED_BASELINE = ["calendar.days=2", "retail.count=100", "sip.investors=100", "repo.count=0",
                    "ai.count=0", "strategy.count=1", "strategy.units=50",
                    'strategy.ref="strategies.lgbm_alpha:LgbmAlpha"']  # fmt: skip
RUN_PARAMS = {"interval_seconds": 120, "min_train_rows": 300, "retrain_every": 50,
              "n_estimators": 15, "threshold_ticks": 0}  # fmt: skip


def run_in_baseline(**params):
    """A reduced baseline run with the strategy (`RUN_PARAMS` updated with `params`): its
    result, agent id and strategy."""
    table = ", ".join(f"{k} = {json.dumps(v)}" for k, v in {**RUN_PARAMS, **params}.items())
    scenario = sim.load_scenario("baseline", [*REDUCED_BASELINE, f"strategy.params={{ {table} }}"])
    simulation = Simulation(scenario, seed=1)
    result = simulation.run(out=None)
    (host,) = simulation.populations["strategy"]
    return result, host.account, host.strategy


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two runs alike, each saving its model, and a third trading with the first's model."""
    folder = tmp_path_factory.mktemp("models")
    first = run_in_baseline(model_path=str(folder / "first.txt"))
    again = run_in_baseline(model_path=str(folder / "again.txt"))
    loaded = run_in_baseline(model_in=str(folder / "first.txt"), min_train_rows=10**6)
    return folder, first, again, loaded


def decisions_of(result, agent: int) -> pl.DataFrame:
    return result.decisions.filter(pl.col("agent") == agent).with_columns(
        pl.col("venue", "instrument").cast(pl.String)
    )


def test_it_trades_in_the_baseline_and_every_order_is_explained(runs):
    _, (result, agent, strategy), _, _ = runs
    orders = (
        result.orders.filter(pl.col("agent") == agent)
        .with_columns(pl.col("venue", "instrument").cast(pl.String))
        .unique(["venue", "instrument", "order_id"], keep="first", maintain_order=True)
    )
    fills = result.trades.filter(pl.col("taker_agent") == agent)
    assert orders.height > 0 and fills.height > 0 and result.metrics["ledger"]["conserved"]
    assert set(orders["tif"]) == {"IOC"} and set(orders["venue"]) == {"NSE"}
    decisions = decisions_of(result, agent)
    joined = decisions.join(orders, on=["venue", "instrument", "order_id"], how="inner")
    assert decisions.height == joined.height == orders.height  # one each, by the venue's id
    for row in joined.rows(named=True):
        why = json.loads(row["details"])
        assert set(why) == {"prediction", "threshold", "contributions", "model"}
        assert set(why["contributions"]) == {*strategy.names, "bias"}
        assert contributions_add_up(why)
        assert abs(why["prediction"]) > why["threshold"]
        assert math.copysign(1, why["prediction"]) == row["side"]
        assert 1 <= why["model"] <= len(strategy.fits)


def test_the_same_seed_gives_bit_identical_decisions_and_models(runs):
    folder, (first, agent, _), (again, agent_again, _), _ = runs
    assert agent == agent_again
    assert decisions_of(first, agent).equals(decisions_of(again, agent))
    assert (folder / "first.txt").read_bytes() == (folder / "again.txt").read_bytes()


def test_a_saved_model_trades_from_the_first_step_of_another_run(runs):
    folder, (_, _, trained), _, (result, agent, strategy) = runs
    saved = load_model(str(folder / "first.txt"), strategy.names)
    assert saved.model_to_string() == trained.model.model_to_string()
    assert strategy.predictions[0] == (0, 0) and not strategy.fits  # its model from step one
    decisions = [json.loads(d) for d in decisions_of(result, agent)["details"]]
    assert decisions and {d["model"] for d in decisions} == {0}
