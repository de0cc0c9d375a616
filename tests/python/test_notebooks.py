"""The example notebooks (examples/notebooks/*.ipynb) run from top to bottom.

Each notebook is executed with nbclient on the ``python3`` kernel of this environment
(ipykernel), with the notebook's folder as working directory, a per-cell timeout and a
headless matplotlib backend. The notebooks use small simulated worlds; all six together take
well under a minute.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (test extra)")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (test extra)")
pytest.importorskip("ipykernel", reason="ipykernel is not installed (test extra)")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "examples" / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_SECONDS = 120


def test_every_main_path_has_a_notebook():
    if not (ROOT / "examples" / "notebooks").is_dir():
        pytest.skip("examples/notebooks is not next to these tests")
    names = {path.stem for path in NOTEBOOKS}
    assert {"01_quickstart", "02_retention_clv", "03_journeys_attribution", "04_churn_at_risk",
            "05_single_customer_view", "06_customer_lens_questions"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:  # stored without outputs, so diffs stay readable
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, (
                f"{path.name} is stored with outputs; regenerate it with build_notebooks.py")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT_SECONDS,
                                     kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    started = time.perf_counter()
    client.execute()
    print(f"{path.name}: {time.perf_counter() - started:.1f} s")
