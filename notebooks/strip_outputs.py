"""Clear the outputs of notebooks, so that git keeps only what a person wrote.

    python notebooks/strip_outputs.py                 # every notebook in notebooks/
    python notebooks/strip_outputs.py path.ipynb ...  # these ones

Outputs are results of one run on one machine: committed, they go stale as soon as the code
changes, and they make every diff noisy. The notebooks here are therefore stored without them
(``tests/test_notebooks.py`` fails on a notebook that has any) and executed afresh by the tests.
Needs nbformat (in the test extra: ``pip install -e ".[test]"``).
"""

import sys
from pathlib import Path

import nbformat


def strip(path):
    """Remove outputs, execution counts and run metadata from the notebook at ``path``; True if it changed."""
    notebook = nbformat.read(path, as_version=4)
    before = nbformat.writes(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)   # timings nbclient and JupyterLab record
    after = nbformat.writes(notebook)
    if after != before:
        Path(path).write_text(after, encoding="utf-8")
    return after != before


if __name__ == "__main__":
    paths = sys.argv[1:] or sorted(str(path) for path in Path(__file__).parent.glob("*.ipynb"))
    for path in paths:
        print(f"{'stripped' if strip(path) else 'clean   '}  {path}")
