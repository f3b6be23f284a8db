"""The Pulse where a run meets its users: the scenario's ``[pulse]`` table, ``pulse.parquet``
in the run folder, `Result.pulse`, the layer it sits in and the sector × rating heatmap."""

import json
import shutil
import warnings

import polars as pl
import pytest
from matplotlib.figure import Figure
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.presentation.pulse_heatmap import GRADES, SECTOR_GROUPS, heatmap_table, pulse_heatmap
from sim.pulse import pulse
from sim.pulse.params import PulseParams
from sim.records.result import Result, ResultError
from sim.records.store import json_bytes, manifest_hash, sha256_file
from sim.scenario.model import PulseSpec, ScenarioError, load_scenario, scenario_from_dict
from tests.helpers.scenarios import small_scenario
from tests.test_layers import ROOT, _lint

PULSE_TABLE = """
[pulse]
intervals = ["1d"]
[pulse.weights.liquidity]
depth = 0.5
"""


def scenario_file(tmp_path, extra: str = "", days: int = 1):
    path = small_scenario(tmp_path, days=days)
    path.write_text(path.read_text() + extra)
    return path


# --- the [pulse] table ----------------------------------------------------------------------


def test_without_a_pulse_table_a_scenario_keeps_the_defaults_and_its_hash(tmp_path):
    scenario = load_scenario(scenario_file(tmp_path))
    assert scenario.pulse is None and "pulse" not in scenario.to_dict()
    assert Result(None, {"scenario": scenario.to_dict()}).pulse_settings == PulseSpec()


def test_a_pulse_table_is_validated_as_pulse_params_and_travels_with_the_scenario(tmp_path):
    plain = load_scenario(scenario_file(tmp_path))
    scenario = load_scenario(scenario_file(tmp_path, PULSE_TABLE))
    assert scenario.pulse.enabled and scenario.pulse.intervals == ("1d",)
    assert scenario.pulse.weights.liquidity.depth == 0.5
    assert scenario.pulse.weights.liquidity.quoted_spread == 0.30  # the rest keep defaults
    assert scenario.pulse.params == PulseParams.from_dict(
        {"intervals": ["1d"], "weights": {"liquidity": {"depth": 0.5}}}
    )
    assert scenario.hash != plain.hash  # the weights make the run's pulse.parquet
    assert scenario_from_dict(scenario.to_dict()) == scenario


@pytest.mark.parametrize(
    ("table", "line"),
    [
        ("[pulse.weights.liquidity]\ndepth = -0.1\n",
         "pulse.weights.liquidity.depth: must be >= 0 (got -0.1)"),
        ("[pulse.weights.liquidity]\ndept = 0.3\n",
         "pulse.weights.liquidity.dept: unknown field (did you mean depth?)"),
        ("[pulse.weights.repayment]\n"
         + "".join(f"{name} = 0\n" for name in PulseParams().weights.repayment.as_dict()),
         "pulse.weights.repayment: at least one weight must be positive"),
        ('[pulse]\nenabled = "no"\n', "pulse.enabled: must be a valid boolean (got 'no')"),
    ],
)  # fmt: skip
def test_bad_pulse_settings_are_one_line_naming_the_field(tmp_path, table, line):
    path = scenario_file(tmp_path, "\n" + table)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert caught.value.problems == (f"{path}: {line}",)
    out = CliRunner().invoke(app, ["scenarios", "validate", str(path)])
    assert out.exit_code == 2 and out.stderr == f"{path}: {line}\n" and out.stdout == ""


def test_sim_pulse_sits_below_the_scenario_that_holds_its_weights(tmp_path):
    for part in ("sim", "agents", "strategies"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with open(tmp_path / "sim/pulse/params.py", "a") as file:
        file.write("\nimport sim.scenario.model  # noqa\n")
    out = _lint(tmp_path)
    assert out.returncode != 0
    assert "sim.pulse is not allowed to import sim.scenario" in out.stdout, out.stdout


# --- pulse.parquet and Result.pulse -----------------------------------------------------------


def test_a_run_folder_holds_its_pulse_listed_in_the_manifest(rated_run):
    result = Result.load(rated_run)
    assert result.manifest["files"]["pulse.parquet"] == sha256_file(rated_run / "pulse.parquet")
    written = pl.read_parquet(rated_run / "pulse.parquet")
    assert result.pulse.equals(written)
    assert written.equals(pulse(result))  # the run's own records, the scenario's settings
    assert set(written["interval"]) == {"1h", "1d"} and written["day"].max() == 1


def test_the_scenarios_settings_make_the_file_and_disabled_it_is_computed_alike(tmp_path):
    written = sim.run(load_scenario(scenario_file(tmp_path, PULSE_TABLE)), out=tmp_path / "on")
    off = PULSE_TABLE.replace("[pulse]\n", "[pulse]\nenabled = false\n")
    computed = sim.run(load_scenario(scenario_file(tmp_path, off)), out=tmp_path / "off")
    assert "pulse.parquet" not in computed.manifest["files"]
    assert not (computed.path / "pulse.parquet").exists()
    assert set(written.pulse["interval"]) == {"1d"}
    assert computed.pulse.equals(written.pulse)  # computed from the records, never written
    assert sorted(p.name for p in computed.path.iterdir()) == sorted(
        [*computed.manifest["files"], "manifest.json"]
    )


def test_a_run_held_in_memory_computes_its_pulse_and_saving_writes_it(tmp_path):
    in_memory = sim.run(load_scenario(scenario_file(tmp_path)), out=None)
    frame = in_memory.pulse
    saved = in_memory.save(tmp_path / "saved")
    assert pl.read_parquet(saved.path / "pulse.parquet").equals(frame)
    on_disk = sim.run(load_scenario(scenario_file(tmp_path)), out=tmp_path / "run")
    assert on_disk.manifest["files"]["pulse.parquet"] == saved.manifest["files"]["pulse.parquet"]


def test_a_run_without_what_its_weights_ask_for_is_kept_without_a_pulse(tmp_path):
    only_sip = "\n[pulse.weights.liquidity]\n" + "".join(
        f"{name} = {int(name == 'sip_activity')}\n"
        for name in PulseParams().weights.liquidity.as_dict()
    )
    scenario = load_scenario(scenario_file(tmp_path, only_sip))  # and no SIP in it
    with pytest.warns(UserWarning) as caught:
        result = sim.run(scenario, out=tmp_path)
    (warned,) = [str(w.message) for w in caught if "pulse.parquet" in str(w.message)]
    assert warned == (
        f"{result.run_id}: no Pulse: liquidity: the run has no value of any weighted feature "
        "(written without pulse.parquet)"
    )
    assert "pulse.parquet" not in result.manifest["files"] and result.trades.height > 0
    with pytest.raises(ResultError, match="no value of any weighted feature"):
        result.pulse  # noqa: B018


def test_a_hand_built_result_has_no_pulse_but_saves(tmp_path, rated_run):
    loaded = Result.load(rated_run)
    frames = {name: loaded.frame(name) for name in ("orders", "trades", "quotes", "book",
              "agents", "fair_values", "curve", "instruments", "transfers")}  # fmt: skip
    held = Result.in_memory(frames, {}, {"run_id": "hand", "seed": 1})
    with pytest.raises(ResultError, match=r"^hand: no Pulse: its manifest records no scenario"):
        held.pulse  # noqa: B018
    with warnings.catch_warnings(record=True):
        saved = held.save(tmp_path)
    assert "pulse.parquet" not in saved.manifest["files"]


def test_a_manifests_pulse_table_that_does_not_validate_is_a_result_error(tmp_path, unrated_run):
    copy = shutil.copytree(unrated_run, tmp_path / unrated_run.name)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["scenario"]["pulse"] = {"weights": {"liquidity": {"depth": -1}}}
    manifest["manifest_hash"] = manifest_hash(manifest)
    (copy / "manifest.json").write_bytes(json_bytes(manifest))
    with pytest.raises(ResultError) as caught:
        Result.load(copy).pulse_settings  # noqa: B018
    assert str(caught.value) == (
        f"{copy / 'manifest.json'}: scenario.pulse: weights.liquidity.depth: "
        "Input should be greater than or equal to 0 (got -1)"
    )


# --- the sector × rating heatmap ----------------------------------------------------------


def test_the_heatmap_averages_the_last_days_scores_by_sector_group_and_grade(rated_run):
    frame = Result.load(rated_run).pulse
    cells = heatmap_table(frame)
    last = frame.filter((pl.col("interval") == "1d") & (pl.col("venue") == "all"))
    last = last.filter(pl.col("day") == last["day"].max())
    for group, grade, mean, bonds, day in cells.iter_rows():
        bonds_in = last.filter((pl.col("sector_group") == group) & (pl.col("grade") == grade))
        assert mean == pytest.approx(bonds_in["score"].mean()) and bonds == bonds_in.height
        assert day == 1
    assert cells["bonds"].sum() == last.height  # every bond in one cell
    order = [(SECTOR_GROUPS.index(g), GRADES.index(r)) for g, r in cells.select(
        "sector_group", "grade").iter_rows()]  # fmt: skip
    assert order == sorted(order)
    figure = pulse_heatmap(frame, value="liquidity", day=0)
    assert isinstance(figure, Figure)
    (ax, _colourbar) = figure.axes
    assert ax.get_title() == "Liquidity Pulse: mean liquidity by sector and rating, trading day 0"
    shown_grades = [t.get_text() for t in ax.get_xticklabels()]
    assert shown_grades == [g for g in GRADES if g in set(cells["grade"])]


def test_unrated_bonds_have_a_column_of_their_own(unrated_run):
    cells = heatmap_table(Result.load(unrated_run).pulse, value="liquidity")
    assert cells.select("sector_group", "grade", "bonds").rows() == [("industrial", "unrated", 1)]


def test_the_heatmap_refuses_an_unknown_value_or_day(rated_run):
    frame = Result.load(rated_run).pulse
    with pytest.raises(ValueError, match=r"^value must be one of score, liquidity, repayment"):
        heatmap_table(frame, value="depth")
    with pytest.raises(ValueError, match=r"^no day 7 in the Pulse \(days 0 to 1\)"):
        heatmap_table(frame, day=7)
