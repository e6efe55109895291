"""Sphinx configuration of deeplearner's documentation site.

    pip install -e ".[docs]"
    sphinx-build -W --keep-going docs docs/_build/html      # then open docs/_build/html/index.html

The pages are Markdown (MyST); the notebooks in notebooks/ are executed at build time (myst-nb,
cached in docs/_build/.jupyter_cache, so a rebuild runs only the notebooks that changed); the API
reference is generated from the docstrings (numpydoc) of the public names: ``deeplearner.__all__``
and the public modules in ``PUBLIC_MODULES``. The reference is written by ``write_api_pages``
into api/generated/ (git-ignored) on every build, so a name added to ``deeplearner.__all__`` gets
its page without anyone editing these files; and it documents each object under the name users
import it by (``deeplearner.BatchNorm``), never under the file that defines it.
"""

import inspect
import re
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))          # a checkout without `pip install -e .` documents itself too

import deeplearner  # noqa: E402

project = "deeplearner"
author = "the deeplearner authors"
copyright = "2026, the deeplearner authors"
release = version = deeplearner.__version__

extensions = [
    "myst_nb",                     # Markdown pages (myst-parser) and notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx.ext.viewcode",         # "[source]" beside every documented object: the code is one click away
]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb", ".rst": "restructuredtext"}
root_doc = "index"
nitpicky = True                              # a {py:class} role to a name that has no page fails the build
# ... except a docstring's reference to an internal module (deeplearner.model.step.forward_backward):
# those modules are not documented by path, and their names move; the `[source]` links reach them.
PUBLIC_PATHS = r"initializers|datasets|plot|saliency|layers\.reference"
nitpick_ignore_regex = [(r"py:.*", rf"deeplearner\.(?!({PUBLIC_PATHS})\.)[a-z_]+\..+")]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "notebooks/strip_outputs.py", "jupyter_execute"]

# ------------------------------------------------------------------ MyST and the notebooks
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3                     # [text](page.md#a-heading) links to headings of levels 1-3
# Executed at build, cached: a notebook runs again only when its code changed. Each takes well under
# a minute here (tests/test_notebooks.py runs them too); a cell that raises fails the build.
nb_execution_mode = os.environ.get("DEEPLEARNER_DOCS_EXECUTE", "cache")
nb_execution_timeout = 180                   # seconds per cell
nb_execution_raise_on_error = True
nb_execution_show_tb = True
os.environ.setdefault("OMP_NUM_THREADS", "1")   # the kernels inherit it: small networks, a shared machine

# ------------------------------------------------------------------ API reference
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"                   # the docstrings say the types (numpydoc's Parameters)
autosummary_generate = False                 # write_api_pages writes the pages itself
numpydoc_show_class_members = False          # the members are documented on the class's own page
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# ------------------------------------------------------------------ HTML
html_theme = "pydata_sphinx_theme"
html_title = f"deeplearner {release}"
html_static_path = ["_static"]
html_css_files = ["deeplearner.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    # The page's own contents only on the long result pages: elsewhere the code gets the width.
    "secondary_sidebar_items": {"**": [], "batchnorm-shown": ["page-toc"], "performance": ["page-toc"]},
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_context = {"default_mode": "light"}
# Pages with no sub-pages get no left sidebar (it would be empty): their article takes the width.
html_sidebars = {page: [] for page in ("index", "getting-started", "batchnorm-shown", "performance")}
html_show_sourcelink = False
highlight_language = "text"                  # the `::` blocks of docstrings are formulas, not Python

# The public modules a user imports by their own path; everything else is reached through `deeplearner.X`.
PUBLIC_MODULES = {
    "deeplearner.initializers": "Initializers",
    "deeplearner.datasets": "Data sets",
    "deeplearner.plot": "Plots",
    "deeplearner.saliency": "Saliency maps",
    "deeplearner.layers.reference": "The layers as plain loops",
}
# The order of the groups on the reference's front page, each with a test that puts a name in it.
GROUPS = [
    ("Models", lambda name, obj: name in ("Sequential", "load_model")),
    ("Layers", lambda name, obj: inspect.isclass(obj) and issubclass(obj, deeplearner.Layer)),
    ("Activation functions", lambda name, obj: obj in (deeplearner.relu, deeplearner.leaky_relu,
                                                       deeplearner.sigmoid, deeplearner.tanh, deeplearner.softmax)),
    ("Losses", lambda name, obj: inspect.isclass(obj) and issubclass(obj, deeplearner.Loss)),
    ("Optimizers", lambda name, obj: inspect.isclass(obj) and issubclass(obj, deeplearner.Optimizer)),
    ("Callbacks and schedules", lambda name, obj: inspect.isclass(obj) and issubclass(obj, deeplearner.Callback)),
    ("Errors and warnings", lambda name, obj: inspect.isclass(obj) and issubclass(obj, BaseException)),
    ("Tools", lambda name, obj: True),       # gradcheck, to_onnx and whatever else is public
]


def public_names(module):
    """The names ``module`` offers: its ``__all__``, else what it defines without a leading underscore."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [name for name, obj in vars(module).items()
            if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
            and getattr(obj, "__module__", "").startswith(module.__name__)]


def object_page(fullname, obj):
    """reST for one object's page, documented as ``fullname`` (the public spelling)."""
    kind = "autoclass" if inspect.isclass(obj) else "autofunction"
    title = fullname.split(".", 1)[1]                # BatchNorm, datasets.load_mnist20: short in the sidebar
    return f"{title}\n{'=' * len(title)}\n\n.. currentmodule:: {fullname.rsplit('.', 1)[0]}\n\n" \
           f".. {kind}:: {fullname.rsplit('.', 1)[1]}\n"


def summary(names, module):
    lines = [f".. currentmodule:: {module}", "", ".. autosummary::", ""]
    return "\n".join(lines + [f"   {name}" for name in names]) + "\n"


def write_api_pages(app):
    """api/generated/: one page per public object, one per group and public module, and their index."""
    import importlib

    out = HERE / "api" / "generated"
    out.mkdir(parents=True, exist_ok=True)
    pages = {}                                           # file name -> text
    grouped = {title: [] for title, _ in GROUPS}
    for name in deeplearner.__all__:
        obj = getattr(deeplearner, name)
        title = next(title for title, belongs in GROUPS if belongs(name, obj))
        grouped[title].append(name)
        pages[f"deeplearner.{name}.rst"] = object_page(f"deeplearner.{name}", obj)
    sections = []
    for title, names in grouped.items():
        if names:
            sections.append(f"{title}\n{'-' * len(title)}\n\n{summary(names, 'deeplearner')}\n"
                            f".. toctree::\n   :hidden:\n\n" + "".join(f"   deeplearner.{n}\n" for n in names))
    for module_name, title in PUBLIC_MODULES.items():
        module = importlib.import_module(module_name)
        names = public_names(module)
        for name in names:
            pages[f"{module_name}.{name}.rst"] = object_page(f"{module_name}.{name}", getattr(module, name))
        intro = (inspect.getdoc(module) or "").split("\n\n")[0]
        sections.append(f"{title}: ``{module_name}``\n{'-' * (len(title) + len(module_name) + 6)}\n\n"
                        f"{intro}\n\n{summary(names, module_name)}\n.. toctree::\n   :hidden:\n\n"
                        + "".join(f"   {module_name}.{n}\n" for n in names))
    pages["index.rst"] = ("Every public name\n=================\n\n"
                          "Everything below is imported from ``deeplearner`` itself (``from deeplearner import "
                          "BatchNorm``), or from the modules named in their sections.\n\n"
                          + "\n".join(sections))
    for stale in set(path.name for path in out.glob("*.rst")) - set(pages):
        (out / stale).unlink()                           # a name that left __all__ leaves no page behind
    for file_name, text in pages.items():
        path = out / file_name
        if not path.is_file() or path.read_text() != text:   # unchanged pages keep their time: no rebuild
            path.write_text(text)


# ------------------------------------------------------------------ docstrings as plain text
# deeplearner's docstrings are written to read in a terminal (help(), an editor): formulas such as
# `dx_i = sum_j w_ij * dy_j`, norms as |x|, learned attributes as classes_. In reST those are
# markup (emphasis, substitutions, link targets), so they are escaped before numpydoc reads the
# docstring. Literal text is left as it is: ``inline literals``, `interpreted text`, doctest
# lines and the indented blocks after a `::`.
INLINE_LITERAL = re.compile(r"(``.+?``|`[^`]+`)")
MARKUP = re.compile(r"[*|]|(?<=\w)_(?=\W|$)")


def escape_plain_text(line):
    parts = INLINE_LITERAL.split(line)          # odd positions are the literals
    return "".join(part if i % 2 else MARKUP.sub(lambda match: "\\" + match.group(0), part)
                   for i, part in enumerate(parts))


def escape_docstring(app, what, name, obj, options, lines):
    block_indent = None                          # the indentation of the paragraph that opened a literal block
    for i, line in enumerate(lines):
        stripped, indent = line.strip(), len(line) - len(line.lstrip())
        if block_indent is not None:
            if not stripped or indent > block_indent:
                continue                         # still inside the literal block
            block_indent = None
        if stripped.startswith(">>>") or stripped.startswith("..."):
            continue
        lines[i] = escape_plain_text(line)
        if stripped.endswith("::"):
            block_indent = indent


def setup(app):
    app.connect("builder-inited", write_api_pages)
    app.connect("autodoc-process-docstring", escape_docstring, priority=100)   # before numpydoc (500)
