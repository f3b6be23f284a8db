"""`import sim` stays light, and its top-level names load what they name on first use."""

import subprocess
import sys

HEAVY = ("mlflow", "lightgbm", "cvxpy", "fastapi", "dask", "uvicorn", "jupyterlab", "mesa", "numba")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}\nprint(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


def test_import_sim_pulls_in_no_heavy_package():
    loaded = _modules_after("import sim")
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_top_level_names_resolve_lazily():
    loaded = _modules_after("import sim\nsim.load_scenario\nassert callable(sim.run)")
    assert "sim.scenario.model" in loaded and "sim.engine.kernel" in loaded
    assert "mlflow" not in loaded and "lightgbm" not in loaded


def test_unknown_attribute_is_an_attribute_error():
    import sim

    try:
        sim.no_such_thing  # noqa: B018
    except AttributeError as error:
        assert "no_such_thing" in str(error)
    else:
        raise AssertionError("expected AttributeError")
