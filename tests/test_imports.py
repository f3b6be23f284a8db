"""`import sim` and its packages stay light, and every name they export loads what it names on
first use."""

import importlib
import subprocess
import sys

import pytest

HEAVY = (
    "mlflow", "lightgbm", "cvxpy", "fastapi", "dask", "uvicorn", "jupyterlab", "mesa", "numba",
    "polars", "numpy", "pandas", "pydantic",
)  # fmt: skip
PACKAGES = ("sim", "sim.market", "sim.engine", "sim.scenario", "sim.strategy", "sim.records")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}\nprint(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


@pytest.mark.parametrize("package", PACKAGES)
def test_importing_a_package_pulls_in_no_heavy_package(package):
    loaded = _modules_after(f"import {package}")
    assert not {m.split(".")[0] for m in loaded} & set(HEAVY), package


def test_top_level_names_resolve_lazily():
    loaded = _modules_after("import sim\nsim.load_scenario\nassert callable(sim.run)")
    assert "sim.scenario.model" in loaded and "sim.engine.kernel" in loaded
    assert "mlflow" not in loaded and "lightgbm" not in loaded


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_resolves(package):
    module = importlib.import_module(package)
    assert set(module.__all__) <= set(dir(module))
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name}"


def test_a_name_exported_from_its_own_module_is_the_function_it_defines():
    import sim

    assert callable(sim.compare) and sim.compare.__module__ == "sim.presentation.compare"
    assert sim.plots.__name__ == "sim.presentation.plots"  # a module named for itself


def test_unknown_attribute_is_an_attribute_error():
    import sim

    with pytest.raises(AttributeError, match="no_such_thing"):
        sim.no_such_thing  # noqa: B018
