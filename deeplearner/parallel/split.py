"""A batch cut into parts, one per thread: how the parts meet, and the seam their layers see.

`PartOfBatch` is what a layer's ``whole_batch`` (deeplearner/layers/base.py) is on the copy of
the layers that runs part k of a batch: it answers for the whole batch. Its ``sum`` waits until
every part has given its partial sum and returns the total (added in part order, so every part
gets the same numbers); ``size`` is the whole batch's row count; ``draw`` has part 0 draw the
random numbers for the whole batch and gives each part its rows; ``leads`` is true for part 0
only. One thread's step, and this one, compute the same numbers up to rounding.

Each exchange waits for every part (a barrier), so the parts run side by side; an error in one
part breaks the barrier, the others stop at their next exchange, and the error goes on.
"""

import functools
import operator
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait


class PartOfBatch:
    """The ``whole_batch`` of the layers that run part ``index`` of a batch of ``n`` rows.

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
        self.leads = index == 0

    def size(self, X):
        """The rows of the whole batch, whatever part of it X is."""
        return self.n

    def sum(self, partial):
        """The sum over all parts of ``partial`` (an array, a number, or a tuple of them)."""
        values = self.group.exchange(self.index, partial)
        if isinstance(partial, tuple):
            return tuple(functools.reduce(operator.add, column) for column in zip(*values))
        return functools.reduce(operator.add, values)

    def draw(self, make, shape):
        """``make((n, *shape[1:]))`` drawn once, by part 0, as one thread would; this part's rows of it."""
        whole = make((self.n, *shape[1:])) if self.index == 0 else None
        return self.group.exchange(self.index, whole)[0][self.rows]


class Group:
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


def cut(n, count, min_rows):
    """Slices cutting range(n) into ``count`` parts, fewer if a part would have under ``min_rows``
    rows (at least one part); their sizes differ by at most one row."""
    count = max(1, min(count, n // min_rows))
    bounds = [n * k // count for k in range(count + 1)]
    return [slice(start, stop) for start, stop in zip(bounds, bounds[1:])]


def run(work, parts, group):
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
