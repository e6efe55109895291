"""The project's own facts agree with each other: one version, one license, a changelog entry."""

import importlib.metadata
import re
import warnings
from pathlib import Path

import pytest

import deeplearner

ROOT = Path(__file__).resolve().parent.parent
tomllib = pytest.importorskip("tomllib")          # Python 3.11+; on 3.10 these checks are skipped


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_version_is_written_once_in_the_package_and_pyproject_reads_it():
    project = pyproject()
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "deeplearner.version.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", deeplearner.__version__)


def test_an_installed_deeplearner_reports_the_version_of_this_source():
    try:
        installed = importlib.metadata.version("deeplearner")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("deeplearner is not installed (run from a checkout with PYTHONPATH)")
    assert installed == deeplearner.__version__


def test_the_changelog_has_an_unreleased_section_and_one_for_this_version():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog
    assert re.search(rf"^## \[{re.escape(deeplearner.__version__)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M)


def test_the_license_file_is_the_mit_license_pyproject_declares():
    project = pyproject()["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n\nCopyright (c) 2026 the deeplearner authors\n")
    assert "THE SOFTWARE IS PROVIDED \"AS IS\"" in text


def test_a_warning_raised_from_deeplearner_code_fails_the_suite():
    """pyproject's filterwarnings: warnings attributed to deeplearner's modules are errors..."""
    with pytest.raises(RuntimeWarning, match="from the library"):
        warnings.warn_explicit("from the library", RuntimeWarning, "batchnorm.py", 1,
                               module="deeplearner.layers.batchnorm")


def test_a_warning_from_elsewhere_stays_a_warning():
    """... and only those: a warning from a test or another library is reported, not raised."""
    with pytest.warns(RuntimeWarning, match="from elsewhere"):
        warnings.warn_explicit("from elsewhere", RuntimeWarning, "other.py", 1, module="otherlibrary")
