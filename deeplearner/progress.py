"""What `fit` shows while it trains: a progressbar2 bar and a few log lines.

verbose=0 shows nothing; verbose=1 a bar with ETA and about ten log lines (after the first
epoch, at each tenth of the run, and after the last epoch); verbose=2 one log line per epoch, no bar.
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


class ProgressReporter:
    """Shows training progress for ``epochs`` epochs, numbered from 1."""

    def __init__(self, epochs, verbose):
        self.epochs = epochs
        self.verbose = verbose
        self.bar = None
        self.unlogged = None
        if verbose == 1:
            widgets = [progressbar.Percentage(), " (", progressbar.SimpleProgress(), " epochs) ",
                       progressbar.Bar(), " ", progressbar.Timer(), " ", progressbar.ETA()]
            self.bar = progressbar.ProgressBar(max_value=epochs, widgets=widgets, fd=CurrentStderr())
            self.bar.start()

    def epoch_end(self, epoch, logs):
        """Called after epoch ``epoch`` (1-based) with that epoch's metrics."""
        logged = self.verbose == 2 or (self.verbose == 1 and is_log_epoch(epoch, self.epochs))
        if logged:
            self._print_above_bar(format_logs(epoch, self.epochs, logs))
        if self.verbose == 1:
            self.unlogged = None if logged else (epoch, logs)   # close() shows it if training stops here
        if self.bar is not None:
            self.bar.update(epoch, force=logged)   # redraw at once where a log line blanked it

    def _print_above_bar(self, line):
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
            self._print_above_bar(format_logs(epoch, self.epochs, logs))
            self.unlogged = None
        if self.bar is not None:
            # dirty=True leaves an interrupted run's bar where it stopped instead of drawing 100%.
            self.bar.finish(dirty=self.bar.value < self.epochs)
            self.bar = None
