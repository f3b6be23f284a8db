"""The ``[strategy]`` population: a strategy by reference, with its parameters, hosted in a run;
bad references and parameters are one clear line."""

from __future__ import annotations

import polars as pl
import pytest
from pydantic import BaseModel, ConfigDict, Field
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.scenario import ScenarioError
from tests.helpers.scenarios import SMALL_SCENARIO


class BuyOnce:
    """Buys `qty` units at the ask at its first timer."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        qty: int = Field(5, ge=1)
        minutes: float = 5.0

    def __init__(self, params: Params):
        self.qty, self.minutes, self.done = params.qty, params.minutes, False

    def on_start(self, ctx):
        ctx.set_timer(int(self.minutes * 60e9))

    def on_timer(self, ctx):
        if not self.done:
            ctx.submit("EXCH", "ABM", "buy", self.qty, None, "IOC")
            ctx.log("bought", qty=ctx.params["qty"])
            self.done = True


class Plain:
    def on_start(self, ctx):
        ctx.log("started", markets=[list(m) for m in ctx.markets])


class NotAStrategy:
    def run(self):
        pass


def scenario(tmp_path, table: str, days: int = 1):
    path = tmp_path / "hosted.toml"
    path.write_text(SMALL_SCENARIO.format(days=days, lag=0) + "\n[strategy]\n" + table)
    return path


def test_a_strategy_by_module_runs_with_its_parameters(tmp_path):
    table = 'ref = "tests.agents.test_strategy_host:BuyOnce"\nparams = { qty = 3 }\n'
    result = sim.run(sim.load_scenario(scenario(tmp_path, table)), seed=2, out=None)
    (agent,) = result.agents.filter(pl.col("kind") == "strategy")["agent"]
    bought = result.trades.filter(pl.col("taker_agent") == agent)["qty"].sum()
    assert 0 < bought <= 3
    log = result.strategy_log
    assert log["message"].to_list() == ["bought"] and log["details"][0] == '{"qty": 3}'
    assert result.agents.filter(pl.col("kind") == "strategy")["log_lines"].item() == 1


def test_a_strategy_from_a_file_trades_every_listing_by_default(tmp_path):
    (tmp_path / "mine.py").write_text(
        "class Mine:\n    def on_start(self, ctx):\n"
        "        ctx.log('hello', markets=[list(m) for m in ctx.markets], p=dict(ctx.params))\n"
    )
    table = f'ref = "{tmp_path / "mine.py"}:Mine"\nparams = {{ anything = "goes" }}\n'
    result = sim.run(sim.load_scenario(scenario(tmp_path, table)), seed=2, out=None)
    assert result.strategy_log["details"].to_list() == [
        '{"markets": [["EXCH", "ABM"]], "p": {"anything": "goes"}}'
    ]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('ref = "nosuch.module:Thing"', "no module named 'nosuch.module'"),
        ('ref = "tests.agents.test_strategy_host:Nope"', "has no class 'Nope'"),
        ('ref = "tests.agents.test_strategy_host:NotAStrategy"', "defines none of the handlers"),
        ('ref = "just_a_name"', "expected module:Class or path/to/file.py:Class"),
        ('ref = "missing/file.py:Mine"', "no such file missing/file.py"),
        (
            'ref = "tests.agents.test_strategy_host:BuyOnce"\nparams = { qty = 0 }',
            "BuyOnce params: qty: Input should be greater than or equal to 1",
        ),
        (
            'ref = "tests.agents.test_strategy_host:BuyOnce"\nparams = { qtty = 2 }',
            "BuyOnce params: qtty: Extra inputs are not permitted",
        ),
        (
            'ref = "tests.agents.test_strategy_host:Plain"\nmarkets = ["EXCH:XYZ"]',
            "markets: 'EXCH:XYZ' is not a listing of the run (EXCH:ABM)",
        ),
    ],
)
def test_a_bad_reference_or_parameter_is_one_line_naming_it(tmp_path, table, message):
    path = scenario(tmp_path, table)
    with pytest.raises(ScenarioError) as caught:
        sim.run(sim.load_scenario(path), seed=2, out=None)
    (line,) = caught.value.problems
    assert line.startswith(f"{path}: strategy: ") and message in line
    done = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "res")])
    assert done.exit_code == 2 and message in done.output and "Traceback" not in done.output
