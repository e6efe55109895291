"""The training loop behind `Sequential.fit`: epochs of shuffled batches, and nothing lost on the way.

``fit`` checks its arguments and data at the boundary, then hands them to `train`, which runs:

    for each epoch:
        tell the callbacks (a learning-rate schedule sets the rate here), note the rate
        for each batch:  save the weights -> forward, loss, backward, optimizer step
        record the epoch's metrics, evaluate on the validation data, tell the callbacks

Callbacks that define ``on_batch_begin`` or ``on_batch_end`` (a `LayerMonitor`) are called
around every step; the others cost nothing per batch, as the lists of batch hooks are made once.

The saved weights are what make a divergence recoverable (deeplearner/safeguards/divergence.py);
the first Ctrl-C is only noted, and honoured between two steps, never in the middle of one
(deeplearner/safeguards/interrupt.py). Each step is ``model.train_step`` (sequential.py), run
whole or split between threads as the call's ``team`` says (deeplearner/parallel/workers.py).
"""

import sys

import numpy as np

from ..safeguards.diagnostics import check_run
from ..safeguards.divergence import DivergenceGuard, TrainingDivergedError
from ..safeguards.interrupt import deferred_interrupt
from .progress import ProgressReporter


class History(dict):
    """What ``fit`` returns: a dict of per-epoch lists, ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``.

    A real dict (``history["loss"]``, ``json.dump``, pickling all work as for any dict); only its
    repr is short, with the last epoch's values: ``History(300 epochs, last: loss=0.0021, ...)``.
    Keras's ``history.history["loss"]`` works too: ``history.history`` is this same History.
    """

    @property
    def history(self):
        """The History itself, not a copy: Keras keeps its dict of lists in ``History.history``."""
        return self

    def __repr__(self):
        last = ", ".join(f"{key}={values[-1]:{'.3f' if 'accuracy' in key else '.4g'}}"
                         for key, values in self.items()
                         if values and not np.isnan(values[-1]))   # regression has no accuracy
        epochs = len(self.get("loss", []))
        return f"History({epochs} epoch{'' if epochs == 1 else 's'}{', last: ' + last if last else ''})"


def batches(rng, n, batch_size, shuffle):
    """Yield index arrays (shuffled with ``rng``) or slices (in order) covering all n rows once.

    A last batch of a single sample is merged into the batch before it, so BatchNorm always
    sees at least two samples and no sample is skipped.
    """
    order = rng.permutation(n) if shuffle else None
    starts = list(range(0, n, batch_size))
    if len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()
    ends = starts[1:] + [n]
    for start, end in zip(starts, ends):
        yield order[start:end] if shuffle else slice(start, end)


def train(model, X, T, validation, epochs, batch_size, shuffle, verbose, callbacks, team):
    """Train ``model`` on (X, T) for ``epochs`` epochs; return the history (see `Sequential.fit`).

    ``team``: the call's threads (deeplearner/parallel/workers.py), which time each batch and
    say whether it runs whole or split (``team.split``).
    """
    history = History(loss=[], accuracy=[])
    if validation is not None:
        history.update(val_loss=[], val_accuracy=[])
    history["lr"] = []   # the learning rate each epoch ran with (a schedule changes it between epochs)
    model.history_ = history
    model.stop_training = False
    guard = DivergenceGuard(model.layers)
    reporter = ProgressReporter(epochs, verbose)
    model.initial_epoch = 0          # epochs already done: a callback (BackupAndRestore) may raise it,
    model.callbacks_ = callbacks     # restoring the state of these callbacks and the history in place
    _call(callbacks, "on_train_begin", model)
    batch_hooks = BatchHooks(callbacks)
    interrupted = False
    try:
        with deferred_interrupt() as interrupt:
            for epoch in range(model.initial_epoch + 1, epochs + 1):
                _call(callbacks, "on_epoch_begin", model, epoch)
                rate = getattr(model.optimizer, "learning_rate", float("nan"))
                metrics = None if interrupt.requested else run_epoch(model, X, T, batch_size, shuffle,
                                                                     guard, interrupt, epoch, team, batch_hooks)
                if metrics is None:       # Ctrl-C: a partial epoch is not recorded, its numbers would mislead
                    interrupted = True
                    break
                if not guard.weights_finite():
                    _diverged(model, guard, f"after the last batch of epoch {epoch} the weights became NaN "
                                            f"or infinite")
                history["loss"].append(metrics[0])
                history["accuracy"].append(metrics[1])
                if validation is not None:
                    val_loss, val_accuracy = model.loss_and_accuracy(*validation, team.split)
                    history["val_loss"].append(val_loss)
                    history["val_accuracy"].append(val_accuracy)
                history["lr"].append(float(rate))
                logs = {key: values[-1] for key, values in history.items()}
                reporter.epoch_end(epoch, logs)
                _call(callbacks, "on_epoch_end", model, epoch, logs)
                if model.stop_training:
                    break
            interrupted = interrupted or interrupt.requested
    except KeyboardInterrupt:             # a second Ctrl-C, or one outside the main thread
        guard.abandon_step()              # a step cut in half goes back to where it started
        interrupted = True
    finally:
        reporter.close()
    if interrupted:
        print(f"Training interrupted by Ctrl-C after {len(history['loss'])} finished epochs (of {epochs}): "
              f"the model keeps its weights and the history so far.", file=sys.stderr)
    _call(callbacks, "on_train_end", model)
    for callback in callbacks:
        message = callback.describe() if callable(getattr(callback, "describe", None)) else None
        if message and verbose:
            print(message)
    check_run(model, X, T, history, batch_size)   # warns if the run went nowhere (safeguards/diagnostics.py)
    return history


def run_epoch(model, X, T, batch_size, shuffle, guard, interrupt, epoch, team, hooks):
    """One pass over (X, T): returns (mean loss, accuracy) over its batches, or None if Ctrl-C cut it short."""
    total_loss, correct, seen = 0.0, 0, 0
    if shuffle:
        # Each shuffled batch is gathered into these two arrays, reused across the epoch's
        # batches: X[rows] would allocate fresh memory every batch (3.2 MB for 1000 x 400 in
        # float64), and fresh memory costs page faults, 18% of a float64 epoch here.
        rows_max = min(batch_size + 1, len(X))   # + 1: a last single row joins the batch before
        X_buffer = np.empty((rows_max, *X.shape[1:]), dtype=X.dtype)   # rows or images
        T_buffer = np.empty((rows_max, T.shape[1]), dtype=T.dtype)
    for number, rows in enumerate(batches(model.rng, len(X), batch_size, shuffle), start=1):
        if interrupt.requested:
            return None
        guard.capture()
        if hooks.begin:
            hooks.call_begin(model, number)
        if shuffle:
            # X[rows] into the buffer; mode="clip" skips a bounds check that would copy
            # through a temporary (rows is a permutation, always in range).
            X_batch = np.take(X, rows, axis=0, out=X_buffer[:len(rows)], mode="clip")
            T_batch = np.take(T, rows, axis=0, out=T_buffer[:len(rows)], mode="clip")
        else:
            X_batch, T_batch = X[rows], T[rows]   # slices: views, no copy
        team.begin()
        loss, output = model.train_step(X_batch, T_batch, team.split)
        team.end(len(T_batch))
        if not np.isfinite(loss):
            _diverged(model, guard, f"at epoch {epoch}, batch {number} the loss became {loss}")
        guard.commit()
        if hooks.end:
            hooks.call_end(model, number, {"loss": float(loss), "size": len(T_batch)})
        total_loss += loss * len(T_batch)
        correct += model.count_correct(output, T_batch)
        seen += len(T_batch)
    accuracy = correct / seen if model.classes_ is not None else float("nan")
    return total_loss / seen, accuracy


class BatchHooks:
    """The ``on_batch_begin`` and ``on_batch_end`` methods of the callbacks that define them.

    Found once per ``fit``: with none, a batch costs two false ``if``s and nothing else.
    ``batch`` counts the epoch's batches from 1; ``on_batch_end`` runs after the optimizer's
    step, with logs ``{"loss": the batch's loss before the step, "size": its number of samples}``.
    """

    def __init__(self, callbacks):
        self.begin = [method for method in (getattr(c, "on_batch_begin", None) for c in callbacks)
                      if callable(method)]
        self.end = [method for method in (getattr(c, "on_batch_end", None) for c in callbacks)
                    if callable(method)]

    def call_begin(self, model, batch):
        for method in self.begin:
            method(model, batch)

    def call_end(self, model, batch, logs):
        for method in self.end:
            method(model, batch, logs)


def _diverged(model, guard, what):
    """Roll back to the weights of the last finite loss, forget the momentum, and say so."""
    guard.restore()
    model.optimizer.state.clear()
    rate = getattr(model.optimizer, "learning_rate", None)
    raise TrainingDivergedError(
        f"Training diverged: {what}. The model was rolled back to the weights that produced the last "
        f"finite loss and the optimizer's state was reset. Lower the learning rate (it is {rate}), "
        f"e.g. by a factor of 10, or normalize the input features.")


def _call(callbacks, hook, *args):
    # Callbacks may define only the hooks they need (duck typing, as in Keras's base class).
    for callback in callbacks:
        method = getattr(callback, hook, None)
        if callable(method):
            method(*args)
