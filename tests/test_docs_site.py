"""The documentation site builds with warnings as errors, links only to what exists, and shows its figures.

The site (docs/, built by Sphinx with docs/conf.py) is built once per session into a temporary
folder: `python -m sphinx -W --keep-going -b html docs <tmp>/html`, which also executes the
notebooks. Then every built page's internal links and anchors are checked, and four pages (the
front page, a guide page, a notebook, an API page) are opened in a headless Chromium, which must
load every image on them.

Needs the docs extra (`pip install -e ".[docs]"`, also in the test extra) and Chromium (Debian:
`apt-get install chromium`); without them these tests are skipped, saying which is missing.
.ci/run installs both and sets DEEPLEARNER_REQUIRE_DOCS=1, under which they fail instead.
"""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SPHINX_PACKAGES = ("sphinx", "numpydoc", "myst_nb", "pydata_sphinx_theme")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# The pages the browser opens: a text each must show, and how many pictures at least (an API page has none).
PAGES = {
    "index.html": ("A pure-NumPy deep-learning library", 1),
    "guide/images.html": ("A CNN against the seed", 1),
    "notebooks/03_cnn_on_the_digits.html": ("statistics per channel", 4),   # the plots the notebook drew
    "api/generated/deeplearner.BatchNorm.html": ("dvar = sum_i dx_hat_i", 0),   # the derivation, one click away
}


def missing(reason):
    """Skip, or fail where CI requires the documentation tests to run."""
    if os.environ.get("DEEPLEARNER_REQUIRE_DOCS"):
        pytest.fail(f"DEEPLEARNER_REQUIRE_DOCS is set but {reason}")
    pytest.skip(reason)


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    missing("Chromium is not installed: apt-get update && apt-get install -y chromium")


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """Build the site once; return (returncode, output, the html folder)."""
    absent = [name for name in SPHINX_PACKAGES if importlib.util.find_spec(name) is None]
    if absent:
        missing(f"the docs extra is not installed ({', '.join(absent)} missing): pip install -e \".[docs]\"")
    out = tmp_path_factory.mktemp("site") / "html"
    env = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                             str(DOCS), str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=900, stdin=subprocess.DEVNULL)
    return result.returncode, result.stdout + result.stderr, out


@pytest.fixture(scope="session")
def built(site):
    returncode, output, out = site
    if returncode != 0:
        pytest.fail(f"sphinx-build -W failed:\n{output[-6000:]}")
    return out


def test_the_site_builds_with_warnings_as_errors(site):
    returncode, output, out = site
    # Sphinx's own messages ("file:line: WARNING: ..."); -W makes any of them fail the build anyway.
    warnings = [line for line in output.splitlines() if re.search(r"(^|: )(WARNING|ERROR|CRITICAL): ", line)]
    assert returncode == 0 and not warnings, "\n".join(warnings) or output[-6000:]
    assert (out / "index.html").is_file()


class Page(HTMLParser):
    """The ids a page defines and the links and images it holds."""

    def __init__(self):
        super().__init__()
        self.ids, self.hrefs, self.images = set(), [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])


def parse(path):
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_every_internal_link_and_anchor_exists(built):
    pages = {path: parse(path) for path in built.rglob("*.html")}
    assert len(pages) > 40                                   # the guide, the notebooks, the reference
    broken = []
    for path, page in pages.items():
        for href in page.hrefs:
            scheme = urlparse(href).scheme
            if scheme in ("http", "https", "mailto", "javascript"):
                continue
            target, fragment = urldefrag(href)
            target_path = (path.parent / unquote(target)).resolve() if target else path
            if target_path.is_dir():
                target_path = target_path / "index.html"
            if not target_path.is_file():
                broken.append(f"{path.relative_to(built)}: {href} (no file)")
            elif fragment and target_path.suffix == ".html":
                ids = pages[target_path].ids if target_path in pages else parse(target_path).ids
                if unquote(fragment) not in ids:
                    broken.append(f"{path.relative_to(built)}: {href} (no anchor)")
    assert not broken, "\n".join(broken[:50])


def test_every_image_a_page_shows_is_a_file_of_the_site(built):
    sources = [(path, src) for path in built.rglob("*.html") for src in parse(path).images
               if not src.startswith("data:")]
    assert len(sources) >= 10                                # the README's figures and the notebooks' plots
    absent = [f"{path.relative_to(built)}: {src}" for path, src in sources if not (path.parent / src).is_file()]
    assert not absent, absent


def test_the_reference_documents_every_public_name_under_its_public_spelling(built):
    import deeplearner

    generated = built / "api" / "generated"
    for name in deeplearner.__all__:
        page = generated / f"deeplearner.{name}.html"
        assert page.is_file(), name
        assert f'id="deeplearner.{name}"' in page.read_text(encoding="utf-8"), name
    internal = [path.name for path in generated.glob("deeplearner.model.*")] + \
               [path.name for path in generated.glob("deeplearner.layers.*")
                if not path.name.startswith("deeplearner.layers.reference.")]
    assert not internal, internal                            # internal modules are not documented by path


LOAD_REPORT = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images).map(image =>
      ({src: image.getAttribute("src"), complete: image.complete, width: image.naturalWidth}));
  document.documentElement.setAttribute("data-images", JSON.stringify(images));
});
</script>"""


def open_in_chromium(browser, page, tmp_path):
    """Load ``page`` (a copy with a reporting script, beside the original); return its images and text."""
    probe = page.with_name(page.stem + ".probe.html")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", LOAD_REPORT + "</body>"), encoding="utf-8")
    try:
        dom = subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                              "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
                             capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL).stdout
    finally:
        probe.unlink()
    found = re.search(r'data-images="([^"]*)"', dom)
    assert found, f"Chromium did not finish loading {page.name}:\n{dom[:2000]}"
    images = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    return images, dom


@pytest.mark.parametrize("name", PAGES)
def test_a_page_renders_in_chromium_with_every_image_loaded(built, name, tmp_path):
    browser = chromium()
    images, dom = open_in_chromium(browser, built / name, tmp_path)
    text, pictures = PAGES[name]
    assert text in dom.replace("&nbsp;", " ")
    figures = [image for image in images if image["src"] and not image["src"].startswith("data:")]
    assert len(figures) >= pictures, f"{name} shows {len(figures)} pictures, expected {pictures} or more"
    unloaded = [image["src"] for image in images if not (image["complete"] and image["width"] > 0)]
    assert not unloaded, f"{name}: these images did not load: {unloaded}"
    shot = tmp_path / (name.replace("/", "_") + ".png")
    subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1440,2400",
                    f"--screenshot={shot}", (built / name).as_uri()], capture_output=True, timeout=120,
                   stdin=subprocess.DEVNULL)
    assert shot.stat().st_size > 20_000                      # a page, not a blank screen
