"""Every notebook in notebooks/ runs top to bottom in a real Jupyter kernel, in its small
settings, and is stored without outputs.

The kernel is this environment's (``python3`` is the interpreter that runs the client when
ipykernel is installed here), started in the notebook's folder as JupyterLab starts it, with
``BONDLAB_NOTEBOOK_SMALL=1`` and matplotlib's non-interactive Agg backend.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
# Per cell; the first run on a machine compiles the numba kernels (about a minute).
CELL_TIMEOUT_S = 600
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")  # the kernel's coloured tracebacks


@pytest.fixture(autouse=True)
def small_settings(monkeypatch):
    monkeypatch.setenv("BONDLAB_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")


def execute(notebook: nbformat.NotebookNode, folder: Path) -> nbformat.NotebookNode:
    """Run every cell in order in a fresh kernel; raises `CellExecutionError` on the first error."""
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(folder)}},
    )
    return client.execute()


def notebook_of(*sources: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


NOTEBOOK_FILES = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOK_FILES, f"no notebooks in {NOTEBOOKS}"


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda path: path.name)
def test_notebook_is_stored_clean(path):
    notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    for i, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {i} is stored with outputs"
            assert cell.execution_count is None, f"cell {i} is stored with an execution count"


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda path: path.name)
def test_notebook_runs_top_to_bottom(path):
    notebook = nbformat.read(path, as_version=4)
    try:
        execute(notebook, path.parent)
    except CellExecutionError as error:
        pytest.fail(f"{path.name}: {ANSI_ESCAPE.sub('', str(error))}", pytrace=False)
    # Top to bottom: every code cell ran, in order.
    counts = [cell.execution_count for cell in notebook.cells if cell.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))


def test_the_kernel_is_this_environment(tmp_path):
    notebook = execute(notebook_of("import sys\nprint(sys.prefix, end='')"), tmp_path)
    assert notebook.cells[0].outputs[0].text == sys.prefix


def test_a_cell_that_raises_fails_the_run(tmp_path):
    notebook = notebook_of("x = 1", "raise RuntimeError('broken cell')", "y = 2")
    with pytest.raises(CellExecutionError, match="broken cell"):
        execute(notebook, tmp_path)
    assert notebook.cells[2].get("execution_count") is None  # nothing ran after it
