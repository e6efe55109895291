"""What `fit` shows while it trains: a progressbar2 bar and a few log lines.

verbose=0 shows nothing; verbose=1 a bar with ETA and about ten log lines (after the first
epoch, every tenth of the run, and the last epoch); verbose=2 one log line per epoch, no bar.
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


class ProgressReporter:
    """Shows training progress for ``epochs`` epochs, numbered from 1."""

    def __init__(self, epochs, verbose):
        self.epochs = epochs
        self.verbose = verbose
        self.log_every = max(1, epochs // 10)
        self.bar = None
        if verbose == 1:
            widgets = [progressbar.Percentage(), " (", progressbar.SimpleProgress(), " epochs) ",
                       progressbar.Bar(), " ", progressbar.Timer(), " ", progressbar.ETA()]
            # redirect_stdout lets the log lines print above the bar instead of through it.
            self.bar = progressbar.ProgressBar(max_value=epochs, widgets=widgets,
                                               redirect_stdout=True, fd=sys.stderr)
            self.bar.start()

    def epoch_end(self, epoch, logs):
        """Called after epoch ``epoch`` (1-based) with that epoch's metrics."""
        if self.verbose == 0:
            return
        if self.verbose == 2 or epoch == 1 or epoch % self.log_every == 0 or epoch == self.epochs:
            print(format_logs(epoch, self.epochs, logs))
        if self.bar is not None:
            self.bar.update(epoch)

    def close(self):
        if self.bar is not None:
            # dirty=True leaves an interrupted run's bar where it stopped instead of drawing 100%.
            self.bar.finish(dirty=self.bar.value < self.epochs)
            self.bar = None
