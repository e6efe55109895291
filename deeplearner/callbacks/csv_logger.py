"""CSVLogger: one row per epoch, every figure of the history, safe on disk as soon as the epoch ends.

    model.fit(X, y, X_valid, y_valid, epochs=50, callbacks=[CSVLogger("training.csv")])

gives a file that any spreadsheet or ``pandas.read_csv`` opens::

    epoch,loss,accuracy,val_loss,val_accuracy,lr
    1,0.8412775218486786,0.7381,0.4519604161580023,0.8694444444444445,0.1
    2,...

Each row is flushed and fsync'd when its epoch ends, so a process killed later (or a machine
that loses power) keeps every finished epoch's row.
"""

import csv
import os

from .base import Callback
from .paths import as_path, check_file


class CSVLogger(Callback):
    """Write the history to a CSV file, one row per epoch.

    Parameters
    ----------
    filename : str or path-like
        The file; its folder must exist.
    separator : str
        One character between the fields, "," by default (";" for some spreadsheets).
    append : bool
        Add this fit's rows to an existing file (its columns must be this fit's) instead of
        starting the file afresh.

    Notes
    -----
    Columns: ``epoch`` (from 1), then the history's keys in fit's order: ``loss``,
    ``accuracy``, ``val_loss`` and ``val_accuracy`` (with validation data), ``lr``. Numbers are
    written as Python's ``repr``, which reads back to the same float.

    With `BackupAndRestore`, a resumed fit first cuts the file back to the rows of the epochs
    the backup holds (a row written after the last backup is dropped, and written again), so the
    file ends with one row per epoch, as after an uninterrupted run.
    """

    def __init__(self, filename, separator=",", append=False):
        as_path("CSVLogger", "filename", filename)
        if not isinstance(separator, str) or len(separator) != 1 or separator in "\r\n\"":
            raise ValueError(f"CSVLogger: separator must be one character such as ',' or ';', received "
                             f"separator={separator!r}.")
        if not isinstance(append, bool):
            raise ValueError(f"CSVLogger: append must be True or False, received append={append!r}.")
        self.filename, self.separator, self.append = filename, separator, append
        self.rows_before = 0       # rows the file held before this fit's first epoch (append=True)
        self._started = False

    def on_train_begin(self, model):
        self._path = check_file("CSVLogger", "filename", self.filename, replaced=False)
        self._columns = ["epoch", *(getattr(model, "history_", None) or {})]
        old = self._header()
        if self.append and old is not None and old != self._columns:
            raise ValueError(f"CSVLogger: {self._path!r} has the columns {old}, but this fit logs {self._columns}. "
                             f"Append to a file of the same columns, or pass append=False to start it afresh.")
        # The file is touched at the first epoch: by then a BackupAndRestore (last in the list)
        # has restored rows_before and model.initial_epoch.
        self._started = False

    def _header(self):
        """The first row of the file, or None when it is missing or empty."""
        if not os.path.isfile(self._path):
            return None
        with open(self._path, newline="") as file:
            return next(csv.reader(file, delimiter=self.separator), None)

    def _start(self, model):
        if getattr(model, "initial_epoch", 0) > 0 and self._header() is not None:   # resumed by BackupAndRestore
            # Keep the header, the rows from before this fit and one row per epoch the backup holds.
            with open(self._path, newline="") as file:
                kept = file.readlines()[:1 + self.rows_before + model.initial_epoch]
            self._write_lines(kept, "w")
            return
        if self.append and self._header() is not None:
            with open(self._path, newline="") as file:
                self.rows_before = sum(1 for _ in file) - 1
            return
        self.rows_before = 0
        self._write_row(self._columns, "w")

    def on_epoch_begin(self, model, epoch):
        if not self._started:
            self._start(model)
            self._started = True

    def on_epoch_end(self, model, epoch, logs):
        self._write_row([epoch, *(repr(float(logs[key])) for key in self._columns[1:])], "a")

    def _write_row(self, row, mode):
        with open(self._path, mode, newline="") as file:
            csv.writer(file, delimiter=self.separator, lineterminator="\n").writerow(row)
            file.flush()
            os.fsync(file.fileno())   # on disk now: a process killed later keeps this row

    def _write_lines(self, lines, mode):
        with open(self._path, mode, newline="") as file:
            file.writelines(lines)
            file.flush()
            os.fsync(file.fileno())

    def get_state(self):
        """What `BackupAndRestore` saves: how many rows the file held before this fit."""
        return {"rows_before": self.rows_before}

    def set_state(self, state):
        """Take back what ``get_state`` returned."""
        self.rows_before = state["rows_before"]
