"""How many threads a model uses: chosen by timing while it works, and given back after.

NumPy's matrix products run in OpenBLAS, which splits a large product across worker threads,
one per core by default. On an idle machine that is faster. On a shared one (a JupyterHub
server, a two-core cloud notebook, a laptop with a browser open) the workers wait for cores
that other processes hold, and spin while they wait: with one other busy process on two cores,
we measured the seed's network at 92 ms per epoch with the default threads and 45 ms with
one, and nothing told the user. So ``fit`` measures instead:

    probe:    run a few batches at each candidate count (1 and the default, more on big machines)
    exploit:  train at the fastest; if that is more than one thread and batches become 1.5
              times slower (another process started), probe again at once
    re-probe: now and then anyway (after 1 s, then 2, 4, ... up to 16 s while the winner stays
              the same), so a machine that became quiet again is noticed too

Batches are timed in samples: one batch, or as many as last 10 ms (small batches are too short
to time one by one). A probe runs, for each count, one sample untimed (the first after a switch
waits for workers to wake, or to stop spinning; the very first lasts 0.1 s, as the first batches
of a run are slower) and five timed ones, compared by their median; a count whose first timed
sample is already 1.25 times slower than a count measured in the same probe, or whose warm-up
is 3 times slower, is dropped at once. The first probe, and one after batches slowed down, go
from one thread up; a scheduled one starts with the count in use, so a slower count costs a
sample or two. Probing costs a few batches at a slower count, and the time between probes is
at least 20 times the probe's own, so it takes at most about 1/20 of training, and far less
while the load is steady. Counts within 5% of each other count as equal, and then the fewer
threads win: about the same speed for less of a shared machine. (The margin is a trade: samples
taken side by side in one probe agree to a few percent, so a wider one mostly gives away speed;
at 10% the seed's network settled on one thread in probes where two were 7-9% faster.)

The count in force when ``fit`` starts (``OMP_NUM_THREADS``, an outer ``threadpool_limits``)
is the largest candidate, and it is put back when ``fit`` ends, however it ends (an exception,
Ctrl-C, divergence): the process's settings never change. ``threads=`` fixes the count instead.

Bit-identical reruns need a fixed count: OpenBLAS's products differ in their last bits between
thread counts (the work is split differently), and two automatic runs may choose differently.

A count is BLAS's threads for most models. For a convolutional network, whose time is in
NumPy's one-core loops rather than in large products, it is the number of parts each batch is
split into, one thread each, with BLAS on one thread (split.py); the policy is the same.

`ThreadChooser` is the policy, with no BLAS in it (tests drive it with a fake clock);
`blas_threads` applies it to the BLAS libraries through threadpoolctl, and to the model.
"""

import functools
import math
from contextlib import contextmanager
from statistics import median
from time import perf_counter

from ..validation import check_real

WARMUP, TIMED = 1, 5          # samples per candidate in a probe: untimed, then timed
SLOW_SAMPLES = 3              # this many slow samples in a row: the machine got busier
MIN_SAMPLE = 0.01             # seconds: a sample gathers units until it lasts this long
SETTLE = 0.25                 # seconds after a switch before a slow sample means a busier machine
COLD = 0.1                    # seconds of warm-up when work starts: first batches allocate, caches fill
SLOWER = 1.5                  # this much slower than the probe measured: the load changed
CLEARLY_SLOWER = 1.25         # a probe's first timed sample this much slower than a measured count: dropped
HOPELESS = 3.0                # a warm-up this much slower than a measured count: not worth timing
TOLERANCE = 1.05              # within 5%: equally fast (timing noise), and the fewer threads win
FIRST_INTERVAL, MAX_INTERVAL = 1.0, 16.0   # seconds between probes, doubling while nothing changes
PROBE_SHARE = 20              # the time between probes is at least 20 times the probe's own


def check_threads(threads, owner):
    """``threads``: None (chosen by timing) or a positive int."""
    if threads is None:
        return None
    return check_real(owner, "threads", threads, 1, integer=True,
                      must="None (chosen by timing) or a positive integer",
                      hint=" Pass e.g. threads=1 for one thread, or leave it out.")


def candidates(most):
    """The thread counts worth trying when ``most`` are allowed: [1, 2] on two cores, [1, 4, 8, 16] on 16."""
    return sorted({1, most // 4, most // 2, most} - {0})


class ThreadChooser:
    """Picks the thread count that ran units of work (batches, chunks) fastest.

    Call ``begin()`` before each unit and ``end(rows)`` after it. Units are timed in samples of
    at least MIN_SAMPLE seconds (one batch of the seed's network; about twenty of 32 rows), as
    seconds per unit; a unit more than 10% smaller than the largest (a last batch) is left out, as
    it would look faster or slower for the wrong reason.

    Parameters
    ----------
    counts : list of int
        The candidates, fewest first; the last is the count the process had.
    clock : callable, optional
        Seconds; ``time.perf_counter`` unless given (tests pass a fake one). Called once in
        ``begin`` and once in ``end``.
    """

    def __init__(self, counts, clock=None):
        self.counts, self.clock = list(counts), clock or perf_counter
        self.choice = self.counts[-1]      # between probes: the count in use
        self.apply = None                  # sets the BLAS count; given by blas_threads
        self.current = None                # the count set now (None: not set yet in this call)
        self.rows = 0                      # the full size of a unit
        self.plan = []                     # while probing: (count, timed) for the next samples
        self.times = {}                    # while probing: count -> seconds per unit of its timed samples
        self.best = None                   # seconds per unit of the choice, at the last probe
        self.interval = FIRST_INTERVAL
        self.next_probe = -math.inf        # probe at the first unit
        self.slow = 0                      # consecutive samples SLOWER than best
        self.switched = -math.inf          # when the count last changed
        self.lead = self.counts[0]         # the count the next probe measures first
        self._new_sample()

    def begin(self):
        self.started = self.clock()
        if not self.plan and self.started >= self.next_probe:
            # self.lead goes first, the others follow from the fewest threads up. At the start
            # and after batches slowed down, the lead is one thread (on a busy machine the count
            # in force is the slow one); at a scheduled probe it is the count in use, so the
            # others are measured against a fresh figure and a slower one is left after a sample.
            order = [self.lead] + [count for count in self.counts if count != self.lead]
            self.plan = [(count, timed) for count in order
                         for timed in (False,) * WARMUP + (True,) * TIMED]
            self.times, self.probe_started = {}, self.started
        count = self.plan[0][0] if self.plan else self.choice
        if count != self.current:
            self.apply(count)
            self.current, self.switched = count, self.started
            self._new_sample()                            # a sample never mixes two counts

    def end(self, rows):
        now = self.clock()
        self.rows = max(self.rows, rows)
        if 10 * rows < 9 * self.rows:
            return                                        # a short last batch: not comparable
        if self.sample_units == 0:
            self.sample_started = self.started
        self.sample_seconds += now - self.started
        self.sample_units += 1
        if self.sample_seconds < MIN_SAMPLE:
            return
        seconds, sample_started = self.sample_seconds / self.sample_units, self.sample_started
        self._new_sample()
        if self.plan:
            count, timed = self.plan[0]
            if not timed and self.best is None and now - self.probe_started < COLD:
                return                                    # the very first warm-up: still cold
            self.plan.pop(0)
            if timed:
                self.times.setdefault(count, []).append(seconds)
            # Clearly slower than a count already measured: no need to finish it. Its warm-up
            # (slowed by the switch, but never 3 times) decides when it is hopeless.
            done = [median(t) for c, t in self.times.items() if c != count and len(t) == TIMED]
            if done and seconds > (CLEARLY_SLOWER if timed else HOPELESS) * min(done):
                self.plan = [entry for entry in self.plan if entry[0] != count]
            if not self.plan:
                self._decide(now)
        elif self.choice > self.counts[0] and sample_started - self.switched >= SETTLE:
            # Only more threads than the fewest suffer from a busier machine: with one thread
            # a slow sample is the machine's noise, and only the next probe can tell. (And just
            # after a switch from more threads, their workers still spin for ~0.1 s.)
            self.slow = self.slow + 1 if seconds > SLOWER * self.best else 0
            if self.slow >= SLOW_SAMPLES:                # the machine got busier: look again now
                self.next_probe, self.interval, self.lead = -math.inf, FIRST_INTERVAL, self.counts[0]

    def _new_sample(self):
        self.sample_seconds, self.sample_units, self.sample_started = 0.0, 0, None

    def _decide(self, now):
        medians = {count: median(t) for count, t in self.times.items()}
        fastest = min(medians.values())
        choice = min(count for count, seconds in medians.items() if seconds <= TOLERANCE * fastest)
        self.interval = min(2 * self.interval, MAX_INTERVAL) if choice == self.choice else FIRST_INTERVAL
        self.choice, self.best, self.slow, self.lead = choice, medians[choice], 0, choice
        self.next_probe = now + max(self.interval, PROBE_SHARE * (now - self.probe_started))


class FixedThreads:
    """What blas_threads gives when nothing is to be chosen: begin and end do nothing."""

    def begin(self):
        pass

    def end(self, rows):
        pass


@contextmanager
def blas_threads(threads, memory, key, split=None):
    """Within the block, BLAS uses ``threads`` threads, or counts chosen by a `ThreadChooser`.

    Yields an object with ``begin()`` and ``end(rows)`` to call around each unit of work. With
    ``threads=None`` the chooser is kept in ``memory[key]`` (a model keeps one per kind of work),
    so later calls on the same work start from what was learned. On exit the thread counts the
    process had are restored, whatever happened inside.

    ``split``, for a model that splits its batches between threads (split.py): called with
    each count instead, while BLAS keeps one thread per part.
    """
    limiter, chooser = None, None

    def apply(count):
        nonlocal limiter
        latest = _controller().limit(limits=1 if split else count, user_api="blas")
        limiter = limiter or latest        # the first one remembers the counts from before
        if split:
            split(count)

    try:
        if threads is not None:
            apply(threads)
            yield FixedThreads()
            return
        most = max((lib["num_threads"] for lib in _controller().select(user_api="blas").info()), default=1)
        if most <= 1:
            yield FixedThreads()           # one thread, or no BLAS that threadpoolctl knows
            return
        counts = candidates(most)
        key = (key, tuple(counts))         # under an outer limit the candidates differ: other work
        if key not in memory:
            memory[key] = ThreadChooser(counts)
        chooser = memory[key]
        chooser.apply, chooser.current = apply, None
        yield chooser
    finally:
        if limiter is not None:
            limiter.restore_original_limits()
        if chooser is not None:
            chooser.apply = None           # keep no closure on the model: it stays picklable


@functools.cache
def _controller():
    """threadpoolctl's view of the loaded BLAS libraries, made once (about 1 ms).

    NumPy's BLAS, the one deeplearner computes with, is loaded with NumPy, before deeplearner.
    """
    from threadpoolctl import ThreadpoolController   # imported on first use: 10-20 ms
    return ThreadpoolController()
