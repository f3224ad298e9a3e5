"""The notebooks run top to bottom on the bundled recording, draw their figures, and are kept clean."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from actors.audit import AuditLog
from actors.reviews import ReviewLog
from cluster.analysis.alerts import load_alerts
from cluster.analysis.datadir import BUNDLED_DATA_DIR, DATA_DIR_ENV
from cluster.samples import REPO_ROOT

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
# Figures each notebook draws on the bundled recording (alerts: no reviews in it, so no precision plot).
FIGURES = {"calibration.ipynb": 4, "alerts.ipynb": 5, "capacity.ipynb": 3}
# What a notebook prints on the bundled recording where a section has nothing to show.
SAYS = {"alerts.ipynb": ("no reviews at", "no reviewed face alerts at")}


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
    text = printed(notebook)
    assert f"data: {BUNDLED_DATA_DIR}" in text
    assert all(line in text for line in SAYS.get(name, ()))


def review_some_alerts(data_dir: Path) -> None:
    """Review two face alerts and a plate alert of ``data_dir`` as the API does."""
    alerts = load_alerts(data_dir / "alerts")
    faces = alerts.loc[alerts["kind"] == "face", "alert_id"]
    plate = alerts.loc[alerts["kind"] == "plate", "alert_id"].iloc[0]
    log = ReviewLog(data_dir, AuditLog(data_dir / "audit.jsonl"))
    log.add(faces.iloc[0], "confirmed", "seen on the evidence crop", "PC 1", "desk (operator)", keep=True)
    log.add(faces.iloc[1], "rejected", "different person", "PC 2", "desk (operator)")
    log.add(plate, "confirmed", "plate checked", "PC 1", "desk (operator)")


@pytest.mark.slow
def test_notebook_follows_the_data_dir_parameter_and_reads_its_reviews(
    kernel_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    copy = tmp_path / "deployment"
    shutil.copytree(BUNDLED_DATA_DIR, copy)
    review_some_alerts(copy)
    kernel_env.setenv(DATA_DIR_ENV, str(copy))
    notebook = run_notebook(NOTEBOOK_DIR / "alerts.ipynb")
    text = printed(notebook)
    assert f"data: {copy.resolve()}" in text
    assert "3 reviews (2 confirmed, 1 rejected), 3 of alerts in this log" in text
    assert "2 reviewed face alerts; thresholds in force" in text
    figures = [o for o in outputs(notebook) if "image/png" in o.get("data", {})]
    assert len(figures) == FIGURES["alerts.ipynb"] + 1  # precision per camera
    shutil.rmtree(copy / "alerts")
    (copy / "alerts").mkdir()
    with pytest.raises(CellExecutionError, match="holds no alerts yet"):
        run_notebook(NOTEBOOK_DIR / "alerts.ipynb")
    kernel_env.setenv(DATA_DIR_ENV, str(tmp_path / "missing"))
    with pytest.raises(CellExecutionError, match="does not exist or is not a folder"):
        run_notebook(NOTEBOOK_DIR / "capacity.ipynb")
