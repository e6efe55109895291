"""The one door between a model and this package: `workers`, for one call of fit, evaluate or predict.

    with workers(model, threads, ("fit", batch_size)) as team:
        for each batch:
            team.begin()
            loss, output = model.train_step(X_batch, T_batch, team.split)
            team.end(len(X_batch))

``team.split`` is None while the batch runs whole on this thread (BLAS may use several), or a
`Replicas` while each batch is split into parts, one per thread (replicas.py); ``begin`` and
``end`` time the batch, so the thread count can be chosen by timing (threads.py). When the
block ends, the process's thread settings are restored and the replicas are dropped.
"""

import weakref
from contextlib import contextmanager

from .replicas import Replicas, can_split
from .threads import FixedThreads, blas_threads

INFERENCE_CHUNKS = 8   # evaluate/predict choose threads by timing from this many chunks on

_choosers = weakref.WeakKeyDictionary()   # model -> what its calls learned about threads, by kind of work


def thread_choosers(model):
    """What ``model``'s calls learned about threads: a dict from the kind of work to its `ThreadChooser`."""
    return _choosers.setdefault(model, {})


class Team:
    """The threads of one call: time each unit of work with ``begin`` / ``end``, run it with ``split``."""

    def __init__(self, model):
        self.model, self.split, self.timer = model, None, FixedThreads()
        self.replicas = {}          # by thread count, kept for the call: a switch back reuses them

    def begin(self):
        self.timer.begin()

    def end(self, rows):
        self.timer.end(rows)

    def use(self, count):
        """Split each batch between ``count`` threads from now on (1: not at all)."""
        if count > 1 and count not in self.replicas:
            self.replicas[count] = Replicas(self.model, count)
        self.split = self.replicas.get(count)


@contextmanager
def workers(model, threads, kind, units=None):
    """Threads for one call on ``model``; yields a `Team`.

    Parameters
    ----------
    model : Sequential
    threads : int or None
        A fixed count, or None to choose by timing.
    kind : hashable
        The kind of work, e.g. ``("fit", 32)``: what was learned about it is kept for the next call.
    units : int, optional
        For inference, how many chunks the call has: with fewer than ``INFERENCE_CHUNKS`` and
        ``threads=None`` there is too little to time, and the process's own setting is kept.
    """
    team = Team(model)
    if threads is None and units is not None and units < INFERENCE_CHUNKS:
        yield team
        return
    use = team.use if can_split(model) else None
    with blas_threads(threads, thread_choosers(model), kind, use) as timer:
        team.timer = timer
        yield team
