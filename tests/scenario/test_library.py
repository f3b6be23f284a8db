"""Shipped scenarios by name: ``baseline`` is scenarios/baseline.toml, in the API and the CLI;
a name that is no file and no shipped scenario is one line that lists the shipped names."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.scenario import library

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SHIPPED = sorted(file.stem for file in SCENARIOS.glob("*.toml"))
UNKNOWN = "baselin: no such file or shipped scenario (did you mean baseline? shipped: {})"


def test_the_checkout_ships_its_scenarios_folder():
    assert library.folder() == SCENARIOS
    assert library.names() == SHIPPED and "baseline" in SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_a_name_loads_the_shipped_file(name):
    by_name = sim.load_scenario(name)
    by_path = sim.load_scenario(SCENARIOS / f"{name}.toml")
    assert by_name.hash == by_path.hash
    assert by_name.source == str(SCENARIOS / f"{name}.toml")  # messages name the file


def test_overrides_apply_to_a_name():
    overrides = ["calendar.days=2", "universe.count=4"]
    by_name = sim.load_scenario("baseline", overrides)
    assert by_name.hash == sim.load_scenario(SCENARIOS / "baseline.toml", overrides).hash
    assert by_name.calendar.days == 2 and len(by_name.instruments) == 4


def test_an_unknown_name_lists_the_shipped_ones():
    with pytest.raises(sim.ScenarioError) as error:
        sim.load_scenario("baselin")
    assert error.value.problems == (UNKNOWN.format(", ".join(SHIPPED)),)


def test_an_unknown_name_without_a_close_one_has_no_hint():
    with pytest.raises(sim.ScenarioError) as error:
        sim.load_scenario("zzz")
    assert (
        str(error.value) == f"zzz: no such file or shipped scenario (shipped: {', '.join(SHIPPED)})"
    )


@pytest.mark.parametrize("path", ["baseline.toml", "elsewhere/baseline", "./baseline"])
def test_a_folder_or_a_suffix_makes_it_a_path(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(sim.ScenarioError, match=r"^\S*baseline(\.toml)?: no such file$"):
        sim.load_scenario(path)


def test_an_existing_file_wins_over_a_name(tmp_path, monkeypatch):
    text = (SCENARIOS / "rmsc04.toml").read_text()
    (tmp_path / "baseline").write_text(text)
    monkeypatch.chdir(tmp_path)
    assert sim.load_scenario("baseline").name == "rmsc04"


# --- the command line ---------------------------------------------------------------------------

runner = CliRunner()


def test_scenarios_list_names_each_with_its_period_and_summary():
    result = runner.invoke(app, ["scenarios", "list"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == SHIPPED
    baseline = lines[SHIPPED.index("baseline")].split(maxsplit=1)[1]
    # 20 weekdays from Monday 1 January 2024 end on Friday the 26th, Republic Day, a holiday
    # in the file: the 20th trading day is Monday the 29th.
    assert baseline.startswith("2024-01-01 to 2024-01-29, 20 trading days")
    assert baseline.split("days", 1)[1].strip().startswith("The bond marketplace: 20 bonds")
    rmsc04 = lines[SHIPPED.index("rmsc04")].split(maxsplit=1)[1]
    assert rmsc04.startswith("2024-01-02 to 2024-01-02, 1 trading day ")


def test_scenarios_show_prints_the_file_as_written(tmp_path):
    result = runner.invoke(app, ["scenarios", "show", "sip_demo"])
    assert result.exit_code == 0, result.output
    assert result.stdout == (SCENARIOS / "sip_demo.toml").read_text()
    mine = tmp_path / "mine.toml"
    mine.write_text("# mine\n")
    assert runner.invoke(app, ["scenarios", "show", str(mine)]).stdout == "# mine\n"
    missing = runner.invoke(app, ["scenarios", "show", str(tmp_path / "nope.toml")])
    assert (missing.exit_code, missing.stderr) == (2, f"{tmp_path / 'nope.toml'}: no such file\n")


def test_validate_takes_a_name():
    result = runner.invoke(app, ["scenarios", "validate", "baseline", "--set", "calendar.days=2"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: baseline (")


@pytest.mark.parametrize("command", [["run"], ["scenarios", "validate"], ["scenarios", "show"]])
def test_an_unknown_name_is_one_line_and_exit_2(command):
    result = runner.invoke(app, [*command, "baselin"])
    assert result.exit_code == 2
    assert result.stderr == UNKNOWN.format(", ".join(SHIPPED)) + "\n"


def test_a_path_on_the_command_line_stays_a_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["scenarios", "validate", "./baseline"])
    assert (result.exit_code, result.stderr) == (2, "./baseline: no such file\n")
