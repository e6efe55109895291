"""Data parallelism on one machine: each batch split between threads, each with a replica of the layers.

NumPy runs an elementwise operation, a copy or a small matrix product on one core, and
releases Python's GIL while it does. A convolutional network's step is made of such loops:
im2col copies, one small product per image, pooling's maxima, BatchNorm's passes. BLAS's own
threads barely help it (its products are too small to split), but two Python threads that
each take half of the batch run at once, on two cores. So a step with r parts goes:

    1. the batch's n rows are cut into r parts of nearly equal size; the calling thread
       takes part 0, helper threads the others
    2. each thread runs forward, loss and backward of its part through its own replica of
       every layer: the same parameter arrays, but its own caches and gradients
    3. BatchNorm normalizes with the statistics of the whole batch, as on one thread: its
       replicas add up their partial sums (``Split.total``), for the mean and then the
       variance in forward, for dbeta and dgamma in backward. Dropout draws its mask for the
       whole batch once (``Split.shared``) and each part takes its rows
    4. the loss is a mean over the batch, so part k's loss and gradient are weighted by
       n_k / n: the parts then add up to the whole batch's. The parts exchange their losses
       too, so all of them see the same total: if it is not finite, every part stops before
       backward (a part that went on alone would wait for the others' sums for ever)
    5. each layer's gradient is the sum of its replicas'; the optimizer steps once

The step is the one-thread step, up to rounding: the sums are added in another order. Each
exchange in step 3 waits for every part (a barrier), so the parts run side by side; an error
in one part breaks the barrier, the others stop at their next exchange, and the error goes on.
Inference splits the same way and exchanges nothing. (The model's own layers do not run in a
split step, so after a split fit their caches, ``layer.X`` or ``layer.cols``, hold an earlier
batch's arrays, not the last one's.)

Which models split: those with a Conv2D whose layers and loss are all deeplearner's own (a
class of your own, even a subclass, might keep state or change its parameters in backward,
which a replica cannot know). An MLP's time is in large products, which BLAS's threads split
well: it keeps them. How many parts: the thread count ``fit`` chooses or is given (threads.py), but never parts
of fewer than ``MIN_ROWS`` rows. Each part pays for the exchanges, and for the GIL, which
the threads take in turns between NumPy's calls; small parts are mostly such overhead. On
the benchmark's CNN (2-core Xeon, ms per step, one thread / two parts): 3.0 / 4.5 at batch 32,
4.1 / 4.7 at 48, 7.0 / 6.3 at 64, 13.7 / 9.0 at 128 and 26.0 / 16.4 at 256. A smaller batch
runs on one thread, as if the count were 1.
"""

import copy
import functools
import operator
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

from ..layers import compat
from ..layers.conv2d import Conv2D

MIN_ROWS = 32     # the fewest rows in a part: see the module's docstring


def can_split(model):
    """Whether ``model``'s batches may be split between threads: a Conv2D, and only built-in layers and loss."""
    return (any(isinstance(layer, Conv2D) for layer in model.layers)
            and all(_says_it_splits(obj) for obj in (*model.layers, model.loss)))


def _says_it_splits(obj):
    """True if obj's own class (not a parent's) defines ``splits_batch`` and it is true, as for
    the built-ins, and no forward or backward of its own was put on the object (a timer, a
    debugging hook: it would run for every replica at once, on the one object it belongs to)."""
    return ("splits_batch" in type(obj).__dict__ and obj.splits_batch
            and not {"forward", "backward"} & vars(obj).keys())


class Replicas:
    """``count`` replicas of a model's layers and loss, one per part of a batch.

    Made when a ``fit`` or ``predict`` call starts splitting, and dropped when it returns.
    """

    def __init__(self, model, count, min_rows=MIN_ROWS):
        self.model, self.count, self.min_rows = model, count, min_rows
        self.layers = [[_replica(layer) for layer in model.layers] for _ in range(count)]
        self.losses = [copy.copy(model.loss) for _ in range(count)]       # a loss keeps its last batch

    def train_step(self, X, T):
        """Forward, loss, backward and optimizer step on the batch (X, T): ``(loss, output)``, as ``_step``."""
        model, n = self.model, len(X)
        parts = _parts(n, self.count, self.min_rows)
        if len(parts) == 1:
            return model._step(X, T)
        group = _Group(len(parts))
        body = len(model._body)

        def step(k):
            rows, loss_fn = parts[k], self.losses[k]
            split = Split(group, k, rows, n)
            layers = self._ready(k, split)[:body]
            output = X[rows]
            for layer in layers:
                output = layer.forward(output, True)
            weight = (rows.stop - rows.start) / n                          # n_k / n
            total_loss = split.total(loss_fn.forward(output, T[rows]) * weight)   # every part learns the whole loss
            if np.isfinite(total_loss):            # else no part goes on, as on one thread
                dY = loss_fn.backward() * weight
                for layer in reversed(layers):
                    dY = layer.backward(dY)
            return total_loss, output

        try:
            results = _run(step, len(parts), group)
        finally:
            self._clear()
        loss, output = results[0][0], np.concatenate([output for _, output in results])
        if np.isfinite(loss):
            for position, layer in enumerate(model._body):
                for name, grad in compat.grads_of(layer).items():
                    np.copyto(grad, self.layers[0][position].grads[name])
                    for k in range(1, len(parts)):
                        grad += self.layers[k][position].grads[name]
            model.optimizer.step(*model._parameters())
        return loss, output

    def forward(self, X, n_layers):
        """X : (batch, *input_shape) -> output of the model's first ``n_layers`` layers, in inference mode."""
        parts = _parts(len(X), self.count, self.min_rows)
        if len(parts) == 1:
            for layer in self.model.layers[:n_layers]:
                X = layer.forward(X, False)
            return X

        def forward(k):
            output = X[parts[k]]
            for layer in self._ready(k, None)[:n_layers]:
                output = layer.forward(output, False)
            return output

        return np.concatenate(_run(forward, len(parts), None))

    def _ready(self, k, split):
        """Replica k's layers, pointed at the model's current arrays and told their part of the batch."""
        for layer, twin in zip(self.model.layers, self.layers[k]):
            twin.params, twin.buffers, twin.split = layer.params, layer.buffers, split
        return self.layers[k]

    def _clear(self):
        for layers in self.layers:
            for twin in layers:
                twin.split = None          # no barrier outlives its step


def _replica(layer):
    """``layer.replica()``, without a forward or backward put on the layer object itself (a hook
    while the replicas were made): the replica runs its class's own."""
    twin = layer.replica()
    for name in ("forward", "backward"):
        vars(twin).pop(name, None)
    return twin


class Split:
    """What the replica of one part knows of the whole batch.

    Attributes
    ----------
    index : int
        The part's number, 0 .. parts - 1.
    rows : slice
        The part's rows in the batch.
    n : int
        The rows of the whole batch.
    """

    def __init__(self, group, index, rows, n):
        self.group, self.index, self.rows, self.n = group, index, rows, n

    def total(self, partial):
        """The sum over all parts of ``partial`` (an array or a number), once every part has given its own.

        Added in part order, so every part gets the same numbers.
        """
        return functools.reduce(operator.add, self.group.exchange(self.index, partial))

    def shared(self, make):
        """``make()``, called by part 0 only, and its result given to every part."""
        return self.group.exchange(self.index, make() if self.index == 0 else None)[0]


class _Group:
    """Where the parts of one step meet: ``exchange`` waits until every part has posted its value."""

    def __init__(self, parts):
        self.barrier = threading.Barrier(parts)
        # Two boards used in turns: a part posts its next value on the other board, so it
        # never overwrites one that a slower part has still to read (a part is at most one
        # exchange ahead of the slowest, since every exchange waits for all).
        self.boards = ([None] * parts, [None] * parts)
        self.rounds = [0] * parts

    def exchange(self, index, value):
        """Every part's value, in part order, once each has called exchange with its own."""
        board = self.boards[self.rounds[index] % 2]
        self.rounds[index] += 1
        board[index] = value
        self.barrier.wait()
        return list(board)


def _parts(n, count, min_rows):
    """Slices cutting range(n) into ``count`` parts, fewer if a part would have under ``min_rows``
    rows (at least one part); their sizes differ by at most one row."""
    count = max(1, min(count, n // min_rows))
    bounds = [n * k // count for k in range(count + 1)]
    return [slice(start, stop) for start, stop in zip(bounds, bounds[1:])]


def _run(work, parts, group):
    """[work(0), ..., work(parts - 1)], work(0) on this thread and the others on helpers, side by side.

    If one raises, the barrier is broken so that no part waits forever, every helper is waited
    for (none may still write into the model), and the first error that is not the broken
    barrier goes on.
    """
    def guarded(k):
        try:
            return work(k)
        except BaseException:
            if group is not None:
                group.barrier.abort()      # the others raise BrokenBarrierError at their next exchange
            raise

    futures = _submit(guarded, parts)
    results, errors = [None] * parts, []
    try:
        results[0] = guarded(0)
    except BaseException as error:         # KeyboardInterrupt too: helpers must stop first
        errors.append(error)
    while True:
        try:
            wait(futures)
            break
        except BaseException as error:     # a Ctrl-C while waiting: still wait, the parts stop soon
            errors.append(error)
            if group is not None:
                group.barrier.abort()
    for k, future in enumerate(futures, start=1):
        try:
            results[k] = future.result()
        except BaseException as error:
            errors.append(error)
    if errors:
        raise next((e for e in errors if not isinstance(e, threading.BrokenBarrierError)), errors[0])
    return results


_pool, _pool_size, _pool_lock = None, 0, threading.Lock()


def _submit(work, parts):
    """work(1) .. work(parts - 1) on the helper threads, submitted together: a step's parts are
    side by side in the queue, so two models splitting at once from two threads of a program
    never hold a helper each while waiting for the other's (each step needs parts - 1 at once)."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool_size < parts - 1:         # a larger pool for more parts; the old one finishes its work
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool, _pool_size = ThreadPoolExecutor(parts - 1, thread_name_prefix="deeplearner-part"), parts - 1
        return [_pool.submit(work, k) for k in range(1, parts)]


def _forget_pool():
    """In a child made by os.fork: the helper threads stayed in the parent, so make new ones."""
    global _pool, _pool_size, _pool_lock
    _pool, _pool_size, _pool_lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):      # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_forget_pool)
