"""The gate's policy: seed 003's thresholds shipped, and a bad policy file as one line a
problem naming the file, the field and the reason."""

from __future__ import annotations

import pytest

from sim.gate.policy import PolicyError, load_policy


def test_the_shipped_policy_is_seed_003s():
    policy = load_policy()
    assert (policy.thresholds.min_sharpe, policy.thresholds.max_drawdown) == (1.5, 0.05)
    assert "brexit_2016" in policy.suite.scenarios and policy.suite.seeds == (1, 2, 3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[thresholds]\nmax_drawdown = 0\n", "thresholds.max_drawdown: must be > 0 (got 0)"),
        ("[suite]\nseeds = []\n", "suite.seeds: must not be empty"),
        ("[thresholds]\nmin_sharpee = 2\n", "thresholds.min_sharpee: unknown field"),
        ("[approval]\nrequired = 'yes'\n", "approval.required:"),
        ("[suite\n", "gate.toml: "),
    ],
)
def test_a_bad_policy_is_one_line_naming_the_field(tmp_path, text, message):
    path = tmp_path / "gate.toml"
    path.write_text(text)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    (line,) = str(caught.value).splitlines()
    assert line.startswith(f"{path}: ") and message in line


def test_a_missing_policy_file_is_named(tmp_path):
    with pytest.raises(PolicyError, match="no such file"):
        load_policy(tmp_path / "nowhere.toml")
