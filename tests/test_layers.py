"""The house's layers (pyproject.toml's import-linter contracts) hold, and a wrong-way import
breaks them."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = (
    "import sys; from importlinter.cli import lint_imports_command; "
    "sys.exit(lint_imports_command(['--no-cache']))"
)


def _lint(tree: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [sys.executable, "-c", LINT], cwd=tree, env=env, capture_output=True, text=True
    )


def test_the_layer_contracts_are_kept():
    out = _lint(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 kept, 0 broken" in out.stdout


@pytest.mark.parametrize(
    ("module", "wrong_import", "message"),
    [
        ("sim/market/fees.py", "import sim.engine.kernel", "sim.market is not allowed to import"),
        ("sim/pricing/bond.py", "import sim.market.book", "sim.pricing is not allowed to import"),
        ("sim/scenario/model.py", "import sim.records", "sim.scenario is not allowed to import"),
        ("sim/engine/clock.py", "import agents.retail", "sim is not allowed to import agents"),
    ],
)
def test_a_wrong_way_import_breaks_the_contract(tmp_path, module, wrong_import, message):
    for part in ("sim", "agents", "strategies"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with open(tmp_path / module, "a") as file:
        file.write(f"\n{wrong_import}  # noqa\n")
    out = _lint(tmp_path)
    assert out.returncode != 0
    assert message in out.stdout, out.stdout
