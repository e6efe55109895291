"""Where fit's progress goes: a bar redrawn on a terminal, one display in Jupyter, plain lines in a file.

The executed-notebook side of this (a real kernel, counting outputs) is in test_notebooks.py.
"""

import io
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from deeplearner.model import progress
from deeplearner.model.progress import NotebookDisplay, ProgressReporter, output_mode

ROOT = Path(__file__).resolve().parents[1]


class FakeStream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


class FakeHandle:
    """What IPython.display.display(..., display_id=True) returns: a handle to update in place."""

    def __init__(self, shown):
        self.shown = shown

    def update(self, bundle, raw=False):
        assert raw
        self.shown.append(bundle["text/plain"])


@pytest.fixture
def fake_kernel(monkeypatch):
    """Pretend to run inside a Jupyter kernel: an IPython whose shell has a kernel, and a display."""
    shown = []
    shell = types.SimpleNamespace(kernel=object())
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: shell
    display_module = types.ModuleType("IPython.display")
    display_module.display = lambda bundle, raw, display_id: (shown.append(bundle["text/plain"]),
                                                              FakeHandle(shown))[1]
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display_module)
    return shown


# ---------------------------------------------------------------- choosing the mode
def test_a_terminal_gets_the_bar_and_a_file_or_pipe_does_not(monkeypatch):
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    monkeypatch.setattr(sys, "stderr", FakeStream(tty=True))
    assert output_mode() == "terminal"
    monkeypatch.setattr(sys, "stderr", FakeStream(tty=False))
    assert output_mode() == "plain"
    monkeypatch.setattr(sys, "stderr", None)    # pythonw: no stderr at all
    assert output_mode() == "plain"


def test_a_jupyter_kernel_is_recognised_by_its_shell(monkeypatch, fake_kernel):
    monkeypatch.setattr(sys, "stderr", FakeStream(tty=False))   # a kernel's streams are no terminals
    assert output_mode() == "jupyter"


def test_ipython_in_a_terminal_is_not_a_kernel(monkeypatch):
    """A terminal IPython's shell has no ``kernel``: there the terminal bar is right."""
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: types.SimpleNamespace()
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setattr(sys, "stderr", FakeStream(tty=True))
    assert output_mode() == "terminal"
    ipython.get_ipython = lambda: None           # IPython imported, but not running
    assert output_mode() == "terminal"


def test_the_mode_is_chosen_without_importing_ipython():
    code = "import sys, deeplearner.model.progress as p; p.output_mode(); print('IPython' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.stdout.strip() == "False"


# ---------------------------------------------------------------- what each mode shows
def run_reporter(mode, epochs=30, verbose=1):
    reporter = ProgressReporter(epochs, verbose, mode=mode)
    for epoch in range(1, epochs + 1):
        reporter.epoch_end(epoch, {"loss": 1.0 / epoch, "accuracy": 0.5})
    reporter.close()
    return reporter


def test_plain_mode_prints_the_log_lines_and_no_bar(monkeypatch, capsys):
    run_reporter("plain")
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert len(lines) == 11 and lines[0].startswith("Epoch 1/30") and lines[-1].startswith("Epoch 30/30")


def test_jupyter_mode_keeps_log_lines_and_bar_in_one_display(fake_kernel, capsys):
    run_reporter("jupyter")
    out, err = capsys.readouterr()
    assert out == "" and err == ""                   # nothing on the streams: all in the display
    final = fake_kernel[-1].splitlines()
    assert [line.split(" - ")[0] for line in final[:-1]] == [
        "Epoch 1/30", "Epoch 3/30", "Epoch 6/30", "Epoch 9/30", "Epoch 12/30", "Epoch 15/30", "Epoch 18/30",
        "Epoch 21/30", "Epoch 24/30", "Epoch 27/30", "Epoch 30/30"]
    assert final[-1].startswith("100% (30 of 30 epochs) |") and "Time:" in final[-1]
    assert len({len(text.splitlines()[-1]) for text in fake_kernel[1:]}) == 1   # the bar keeps its width
    assert not any("\x1b[" in text or "\r" in text for text in fake_kernel)   # no escape codes, no redraws
    # live: the bar was shown before the run ended
    assert fake_kernel[0] == "" and fake_kernel[1].startswith("  0% (0 of 30 epochs)")


def test_jupyter_mode_with_verbose_2_prints_each_epoch_as_text(fake_kernel, capsys):
    run_reporter("jupyter", epochs=4, verbose=2)
    assert capsys.readouterr().out.count("Epoch ") == 4
    assert fake_kernel == []                          # no bar, so no display


def test_a_notebook_display_ignores_what_is_only_whitespace(fake_kernel):
    display = NotebookDisplay()
    display.write("\r  5% (1 of 20 epochs) |#     |   \r")
    display.write("\n")                               # progressbar2's finish() ends the line
    display.log("Epoch 1/20 - training loss 1.0000")
    assert fake_kernel == ["", "  5% (1 of 20 epochs) |#     |",
                           "Epoch 1/20 - training loss 1.0000\n  5% (1 of 20 epochs) |#     |"]


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_a_terminal_still_gets_the_bar_with_eta_redrawn_in_place():
    """The terminal behaviour stays as it was: run fit under a pseudo-terminal and read what it drew."""
    import pty

    script = ("import numpy as np\n"
              "from deeplearner import Sequential, Dense, Activation, SGD, CrossEntropyForSoftMax\n"
              "X, y = np.random.default_rng(0).standard_normal((20, 2)), np.arange(20) % 2\n"
              "model = Sequential([Dense(2), Activation('softmax')], SGD(), CrossEntropyForSoftMax(), 2, seed=0)\n"
              "import warnings; warnings.simplefilter('ignore')\n"   # random labels: fit rightly warns
              "model.fit(X, y, epochs=100, batch_size=10)\n")
    pid, fd = pty.fork()
    if pid == 0:   # the child: stdout and stderr are the terminal
        os.environ["PYTHONPATH"] = str(ROOT)
        os.execv(sys.executable, [sys.executable, "-c", script])
    drawn = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:   # the child closed the terminal
            break
        if not chunk:
            break
        drawn += chunk
    os.waitpid(pid, 0)
    text = re.sub(r"\x1b\[[0-9;]*m", "", drawn.decode(errors="replace"))   # the bar's colours
    assert "ETA" in text and "(100 of 100 epochs)" in text
    assert text.count("\r") > 10                      # redrawn in place, not line after line
    assert len([line for line in text.splitlines() if line.lstrip("\r ").startswith("Epoch")]) == 11


def test_progress_module_has_no_hidden_state():
    """Each reporter decides its mode when it starts; nothing is cached in the module."""
    assert not [name for name, value in vars(progress).items()
                if isinstance(value, (list, dict, np.ndarray)) and not name.startswith("__")]
