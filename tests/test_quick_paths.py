"""A smoke test never replaces the docs' figures: every example's --quick run leaves docs/ as it was.

Four experiments write their figure by default (a full run draws the picture the docs show, in
docs/). Their --quick path writes to a new temporary folder instead, unless --plot names a path;
every other example writes only where it is told. Each example with a --quick option runs here
as a user would type it, `python examples/NAME.py --quick`, in an empty working directory, and
docs/ must hold the same files with the same bytes afterwards.
"""

import hashlib
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = sorted(path for path in (ROOT / "examples").glob("*.py") if '"--quick"' in path.read_text())
# Four experiments whose full run writes docs/<name>.png by default, and so must say where a quick one wrote.
DRAWS_BY_DEFAULT = {"init_scale", "learning_rate", "ioffe_figure1", "gradients_depth"}
# What Sphinx and its notebook cache write under docs/ (git-ignored); not the docs' own files.
BUILT = {"_build", "api/generated", ".jupyter_cache", "jupyter_execute"}
SAVED = re.compile(r"(?:saved to|wrote) (\S+\.png)")


def snapshot():
    """Every file under docs/ that is not build output -> its SHA-256."""
    files = {}
    for path in sorted(DOCS.rglob("*")):
        relative = path.relative_to(DOCS).as_posix()
        if path.is_file() and not any(relative == built or relative.startswith(built + "/") for built in BUILT):
            files[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def run_quick(example, workdir):
    """``python examples/<example> --quick`` in ``workdir``, temporary files in ``workdir/tmp``."""
    cwd, temporary = workdir / "cwd", workdir / "tmp"
    cwd.mkdir(parents=True)
    temporary.mkdir()
    env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1", TMPDIR=str(temporary),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    result = subprocess.run([sys.executable, str(example), "--quick"], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=600, stdin=subprocess.DEVNULL)
    return result, cwd, temporary


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory):
    """All the quick runs, two at a time (the machine has two cores); docs/ before and after."""
    before = snapshot()
    root = tmp_path_factory.mktemp("quick")
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = dict(zip((path.stem for path in EXAMPLES),
                        pool.map(lambda path: run_quick(path, root / path.stem), EXAMPLES)))
    return before, snapshot(), runs


def test_the_examples_with_a_quick_path_are_found():
    names = {path.stem for path in EXAMPLES}
    assert DRAWS_BY_DEFAULT <= names and {"benchmark", "train_handwritten"} & names == {"benchmark"}


@pytest.mark.slow
def test_no_quick_run_changes_docs(quick_runs):
    before, after, _ = quick_runs
    assert before, "docs/ has no files to compare"
    changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    assert not changed, f"--quick runs changed these files under docs/: {changed}"


@pytest.mark.slow
@pytest.mark.parametrize("name", [path.stem for path in EXAMPLES])
def test_a_quick_run_succeeds_and_writes_its_figure_outside_docs(quick_runs, name):
    result, cwd, temporary = quick_runs[2][name]
    assert result.returncode == 0, result.stderr[-3000:]
    assert not (cwd / "docs").exists(), "a quick run made a docs/ folder in the working directory"
    saved = [Path(path) for path in SAVED.findall(result.stdout)]
    if name in DRAWS_BY_DEFAULT:
        assert saved, f"{name} --quick did not say where it wrote its figure:\n{result.stdout[-2000:]}"
    for path in saved:
        assert path.is_file(), path
        assert DOCS not in path.resolve().parents
        if name in DRAWS_BY_DEFAULT:
            assert temporary in path.resolve().parents      # a fresh temporary folder, as the --plot help says
