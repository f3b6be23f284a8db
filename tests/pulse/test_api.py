"""`sim.pulse`'s public names: pinned, lazy, and each one loads what it names."""

import subprocess
import sys

import sim.pulse

PUBLIC = {
    "pulse", "validate", "realised_costs", "liquidity_index", "repayment_index", "PulseParams",
    "PulseWeights", "PulseParamsError", "forecast", "ForecastParams", "evaluate", "daily_index",
}  # fmt: skip


def test_the_public_names_are_pinned_and_resolve():
    assert set(sim.pulse.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(sim.pulse, name).__name__ == name


def test_importing_the_package_loads_nothing_heavy():
    code = "import sys, sim.pulse; print(' '.join(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert not {"polars", "numpy", "pydantic", "scipy"} & {m.split(".")[0] for m in loaded.split()}
