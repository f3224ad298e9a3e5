"""The notebooks run top to bottom on the bundled recording, draw their figures, and are kept clean."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from cluster.analysis.datadir import BUNDLED_DATA_DIR, DATA_DIR_ENV
from cluster.samples import REPO_ROOT

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
# Figures each notebook draws on the bundled recording (alerts: no review log yet, so no precision plot).
FIGURES = {"calibration.ipynb": 4, "alerts.ipynb": 5, "capacity.ipynb": 3}


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """A notebook in format 4 (nbformat is untyped)."""
    notebook: nbformat.NotebookNode = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    return notebook


def run_notebook(path: Path) -> nbformat.NotebookNode:
    """Execute ``path`` in a fresh kernel of this Python (jupyter_client maps ``python`` to it)."""
    notebook = read_notebook(path)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    return notebook


def outputs(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """Every output of every code cell."""
    return [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]


def printed(notebook: nbformat.NotebookNode) -> str:
    """Everything the cells printed."""
    return "".join(o.text for o in outputs(notebook) if o.output_type == "stream" and o.name == "stdout")


@pytest.fixture
def kernel_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Kernels import this checkout and read the bundled data unless a test says otherwise."""
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    )
    for name in (DATA_DIR_ENV, "SAFECITY_CONFIG", "SAFECITY_APPLY_THRESHOLD", "MPLBACKEND"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_every_notebook_is_known_and_committed_without_outputs() -> None:
    paths = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    assert [p.name for p in paths] == sorted(FIGURES)
    for path in paths:
        notebook = read_notebook(path)
        nbformat.validate(notebook)
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        assert all(not cell.outputs and cell.execution_count is None for cell in code), path.name
        parameters = code[0]
        assert "parameters" in parameters.metadata.get("tags", []) and DATA_DIR_ENV in parameters.source


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FIGURES))
def test_notebook_runs_on_the_bundled_data_and_draws_its_figures(
    name: str, kernel_env: pytest.MonkeyPatch
) -> None:
    notebook = run_notebook(NOTEBOOK_DIR / name)  # raises CellExecutionError on any error
    figures = [o for o in outputs(notebook) if "image/png" in o.get("data", {})]
    assert len(figures) == FIGURES[name]
    assert not [o for o in outputs(notebook) if o.output_type == "error"]
    assert f"data: {BUNDLED_DATA_DIR}" in printed(notebook)


@pytest.mark.slow
def test_notebook_follows_the_data_dir_parameter(kernel_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    copy = tmp_path / "deployment"
    shutil.copytree(BUNDLED_DATA_DIR, copy)
    kernel_env.setenv(DATA_DIR_ENV, str(copy))
    assert f"data: {copy.resolve()}" in printed(run_notebook(NOTEBOOK_DIR / "alerts.ipynb"))
    shutil.rmtree(copy / "alerts")
    (copy / "alerts").mkdir()
    with pytest.raises(CellExecutionError, match="holds no alerts yet"):
        run_notebook(NOTEBOOK_DIR / "alerts.ipynb")
    kernel_env.setenv(DATA_DIR_ENV, str(tmp_path / "missing"))
    with pytest.raises(CellExecutionError, match="does not exist or is not a folder"):
        run_notebook(NOTEBOOK_DIR / "capacity.ipynb")
