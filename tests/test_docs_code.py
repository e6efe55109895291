"""Every Python example a reader sees runs: the README's, every documentation page's, and the docstrings'.

Pages. Each ```python block of README.md and of the Markdown pages under docs/ runs, in the order
of the page, in one fresh interpreter per page: a page is one session, so a block may use what
an earlier block of the same page defined, and nothing else. The prelude is empty: no import and
no variable is given to the blocks; the interpreter runs in an empty temporary directory (files
the blocks write land there), with MPLBACKEND=Agg (figures are written, never shown) and
OMP_NUM_THREADS=1. ```bash blocks are commands to type, some of them long runs, and are not run.

Docstrings. The ``>>>`` examples in the docstrings of every public name (``deeplearner.__all__``
and the public modules the API reference documents) run as doctests.
"""

import doctest
import importlib
import importlib.util
import inspect
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
NOT_PAGES = ("_build", "api/generated", "notebooks", "jupyter_execute")   # built files and the notebook link
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
PUBLIC_MODULES = ("deeplearner.initializers", "deeplearner.datasets", "deeplearner.plot", "deeplearner.saliency",
                  "deeplearner.layers.reference")
# A page whose blocks need a package outside the test extra's core is skipped without it.
NEEDS = {"docs/guide/saving.md": "onnxruntime"}

RUNNER = r"""
import json, sys, traceback
blocks = json.load(sys.stdin)
namespace = {"__name__": "__main__"}
for block in blocks:
    try:
        exec(compile(block["source"], block["where"], "exec"), namespace)
    except BaseException:
        print(f"\n*** the block at {block['where']} failed:", file=sys.stderr)
        traceback.print_exc()
        sys.exit(1)
"""


def pages():
    found = [ROOT / "README.md"] + sorted(
        path for path in DOCS.rglob("*.md")
        if not any(path.relative_to(DOCS).as_posix().startswith(skip) for skip in NOT_PAGES))
    return [path.relative_to(ROOT).as_posix() for path in found]


def blocks_of(page):
    """The python blocks of ``page``, each with the line it starts on."""
    text = (ROOT / page).read_text(encoding="utf-8")
    return [{"source": match.group(1), "where": f"{page}, line {text[:match.start()].count(chr(10)) + 2}"}
            for match in BLOCK.finditer(text)]


def run_page(page, workdir):
    workdir.mkdir(parents=True)
    env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-c", RUNNER], input=json.dumps(blocks_of(page)), cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def page_runs(tmp_path_factory):
    """Every page with python blocks, run two at a time (the machine has two cores)."""
    pytest.importorskip("matplotlib")
    root = tmp_path_factory.mktemp("pages")
    runnable = [page for page in pages() if blocks_of(page) and
                (page not in NEEDS or importlib.util.find_spec(NEEDS[page]) is not None)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda page: run_page(page, root / page.replace("/", "_")), runnable)
        return dict(zip(runnable, results))


def test_the_extractor_finds_the_pages_and_their_blocks():
    found = pages()
    assert "README.md" in found and "docs/getting-started.md" in found and "docs/guide/models.md" in found
    assert not [page for page in found if "/_build/" in page or "/generated/" in page]
    assert len(blocks_of("README.md")) == 1                  # the front page's one complete example
    assert sum(len(blocks_of(page)) for page in found) >= 20


def test_a_python_block_that_fails_is_reported_with_its_page_and_line(tmp_path):
    page = tmp_path / "broken.md"
    page.write_text("Text.\n\n```python\nx = 1\n```\n\n```python\nraise ValueError(x)\n```\n")
    blocks = BLOCK.findall(page.read_text())
    assert blocks == ["x = 1\n", "raise ValueError(x)\n"]
    result = subprocess.run([sys.executable, "-c", RUNNER], capture_output=True, text=True, cwd=tmp_path,
                            input=json.dumps([{"source": b, "where": f"broken.md, block {i}"}
                                              for i, b in enumerate(blocks)]))
    assert result.returncode == 1
    assert "the block at broken.md, block 1 failed" in result.stderr and "ValueError: 1" in result.stderr


@pytest.mark.parametrize("page", [page for page in pages() if blocks_of(page)])
def test_every_python_block_of_the_page_runs(page_runs, page):
    if page not in page_runs:
        pytest.skip(f"{page} needs {NEEDS[page]}: pip install {NEEDS[page]}")
    result = page_runs[page]
    assert result.returncode == 0, result.stderr[-4000:]


def public_objects():
    import deeplearner

    objects = {f"deeplearner.{name}": getattr(deeplearner, name) for name in deeplearner.__all__}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        objects[module_name] = module
        names = getattr(module, "__all__", [name for name in vars(module) if not name.startswith("_")])
        for name in names:
            obj = getattr(module, name)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__.startswith("deeplearner"):
                objects[f"{module_name}.{name}"] = obj
    return objects


def test_the_docstring_examples_run_as_doctests(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    seen = set()
    for name, obj in public_objects().items():
        for test in finder.find(obj, name):
            if test.examples and (test.filename, test.lineno) not in seen:
                seen.add((test.filename, test.lineno))
                runner.run(test)
    summary = runner.summarize(verbose=False)
    assert summary.failed == 0
    assert summary.attempted >= 9                            # load_mnist20's and to_images's, at least
