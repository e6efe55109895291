"""What `fit` shows while it trains: a progress bar and a few log lines, wherever it runs.

verbose=0 shows nothing; verbose=1 a bar with ETA and about ten log lines (after the first
epoch, at each tenth of the run, and after the last epoch); verbose=2 one log line per epoch, no bar.

Where the output goes decides how the bar is drawn (`output_mode`):

- ``"terminal"`` (stderr is a terminal): progressbar2 redraws the bar in place with "\\r"; a log
  line blanks it, takes its place, and the bar is drawn again underneath.
- ``"jupyter"`` (inside a Jupyter kernel): there, every "\\r" redraw would become an output of its
  own in the saved notebook, colour codes and all (a 300-epoch cell made 201 outputs holding 712
  escape codes). Instead one display, rewritten in place, holds the log lines and under them the
  bar, as plain text: the notebook keeps one output, the final state.
- ``"plain"`` (a file or a pipe): no bar at all, only the log lines; redraws would fill the file.
"""

import math
import sys

import progressbar


def format_logs(epoch, epochs, logs):
    """One line like the seed notebook's: epoch, losses, accuracies (absent values left out)."""
    names = [("loss", "training loss", "{:.4f}"), ("val_loss", "validation loss", "{:.4f}"),
             ("accuracy", "training accuracy", "{:.3f}"), ("val_accuracy", "validation accuracy", "{:.3f}")]
    parts = [f"Epoch {epoch}/{epochs}"]
    for key, label, fmt in names:
        value = logs.get(key)
        if value is not None and not math.isnan(value):
            parts.append(f"{label} {fmt.format(value)}")
    return " - ".join(parts)


def is_log_epoch(epoch, epochs):
    """True after the first and the last epoch, and at the first epoch of each new tenth of the run.

    ``10 * epoch // epochs`` is the tenth the run has reached; a line is logged when it changes,
    which gives about ten lines for any number of epochs (every epoch when there are fewer than ten).
    """
    return epoch in (1, epochs) or (10 * epoch) // epochs != (10 * (epoch - 1)) // epochs


def output_mode():
    """``"jupyter"`` inside a Jupyter kernel, else ``"terminal"`` if stderr is one, else ``"plain"``."""
    if in_jupyter_kernel():
        return "jupyter"
    try:
        return "terminal" if sys.stderr.isatty() else "plain"
    except (AttributeError, ValueError):   # no stderr at all (pythonw), or a closed one
        return "plain"


def in_jupyter_kernel():
    """True when this code runs in a Jupyter kernel (a notebook, JupyterLab, VS Code, Colab).

    A kernel's IPython shell has a ``kernel`` attribute; IPython in a terminal has none. IPython
    is looked up, never imported: when nothing has loaded it, this is no kernel.
    """
    IPython = sys.modules.get("IPython")
    shell = IPython.get_ipython() if IPython is not None else None
    return getattr(shell, "kernel", None) is not None


class CurrentStderr:
    """A stream that writes to whatever ``sys.stderr`` is at the moment of writing.

    progressbar2 remembers the stream it was given; pytest, notebooks and ``contextlib`` swap
    ``sys.stderr`` between runs, so the bar looks it up on every write instead.
    """

    def write(self, text):
        return sys.stderr.write(text)

    def flush(self):
        sys.stderr.flush()

    def isatty(self):
        return sys.stderr.isatty()


class NotebookDisplay:
    """One output of a Jupyter cell, rewritten in place: the log lines so far, then the bar.

    progressbar2 writes to it as to a terminal ("\\r" and the bar's new text, colours off); each
    write replaces the bar's line and sends the whole text again as an update of the same
    display, so the cell shows one live block and the saved notebook holds its final state.
    """

    def __init__(self):
        from IPython.display import display   # only inside a kernel, where IPython is loaded

        self.lines, self.bar_line = [], ""
        self.handle = display(self._bundle(), raw=True, display_id=True)

    def write(self, text):
        line = text.lstrip("\r").rstrip()   # "\r" + the bar, padded to its width; finish() writes "\n"
        if line:
            self.bar_line = line
            self._show()

    def flush(self):
        pass

    def log(self, line):
        self.lines.append(line)
        self._show()

    def _show(self):
        self.handle.update(self._bundle(), raw=True)

    def _bundle(self):
        return {"text/plain": "\n".join(self.lines + [self.bar_line])}


class ProgressReporter:
    """Shows training progress for ``epochs`` epochs, numbered from 1.

    ``mode`` is ``"terminal"``, ``"jupyter"`` or ``"plain"``, by default `output_mode()`.
    """

    def __init__(self, epochs, verbose, mode=None):
        self.epochs = epochs
        self.verbose = verbose
        self.mode = output_mode() if mode is None else mode
        self.bar = None
        self.notebook = None
        self.unlogged = None
        if verbose == 1 and self.mode != "plain":
            widgets = [progressbar.Percentage(), " (", progressbar.SimpleProgress(), " epochs) ",
                       progressbar.Bar(), " ", progressbar.Timer(), " ", progressbar.ETA()]
            if self.mode == "jupyter":
                self.notebook = NotebookDisplay()
                # Drawn as on a terminal ("\r", one line), but in plain text: no colour codes.
                self.bar = progressbar.ProgressBar(max_value=epochs, widgets=widgets, fd=self.notebook,
                                                   is_terminal=True, line_breaks=False, enable_colors=False)
            else:
                self.bar = progressbar.ProgressBar(max_value=epochs, widgets=widgets, fd=CurrentStderr())
            self.bar.start()

    def epoch_end(self, epoch, logs):
        """Called after epoch ``epoch`` (1-based) with that epoch's metrics."""
        logged = self.verbose == 2 or (self.verbose == 1 and is_log_epoch(epoch, self.epochs))
        if logged:
            self._log(format_logs(epoch, self.epochs, logs))
        if self.verbose == 1:
            self.unlogged = None if logged else (epoch, logs)   # close() shows it if training stops here
        if self.bar is not None:
            self.bar.update(epoch, force=logged)   # redraw at once where a log line blanked it

    def _log(self, line):
        if self.notebook is not None:
            self.notebook.log(line)   # above the bar, in the same display
            return
        # On a terminal the bar owns the last line: blank it, print the log line in its place,
        # and the next update draws the bar again underneath.
        if self.bar is not None and self.bar.is_terminal and not self.bar.line_breaks:
            sys.stderr.write("\r" + " " * self.bar.term_width + "\r")
            sys.stderr.flush()
        print(line, flush=True)

    def close(self):
        """End the display; a run stopped early (EarlyStopping, Ctrl-C) still shows its last epoch."""
        if self.unlogged is not None:
            epoch, logs = self.unlogged
            self._log(format_logs(epoch, self.epochs, logs))
            self.unlogged = None
        if self.bar is not None:
            # dirty=True leaves an interrupted run's bar where it stopped instead of drawing 100%.
            self.bar.finish(dirty=self.bar.value < self.epochs)
            self.bar = None
