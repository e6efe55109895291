"""BLAS threads: fit picks the fastest count, follows the load, honours threads=, and never leaks.

No test asserts a time. Where a choice is checked, a fake clock makes each unit of work last
what a scripted "machine" says for the thread count in force, so every choice is deterministic. The real BLAS
settings are read with threadpoolctl, before, during (from inside a layer) and after.
"""

import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from deeplearner import SGD, Activation, Callback, CrossEntropyForSoftMax, Dense, Layer, Sequential
from deeplearner.parallel import threads
from deeplearner.parallel.threads import ThreadChooser, candidates

MOST = max((lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"), default=1)
needs_threads = pytest.mark.skipif(MOST < 2, reason="BLAS runs one thread here: nothing to choose")


def blas_threads_now():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


# ---------------------------------------------------------------- the policy, on a scripted machine
class Machine:
    """A scripted machine and its clock: a unit of work at n threads takes seconds_per_unit[n].

    ``run`` does the units itself. Inside fit, where deeplearner does them, ``ticking=True``
    makes every reading of the clock advance by half a unit at the count in force (the chooser
    reads it once before and once after each unit).
    """

    def __init__(self, seconds_per_unit, ticking=False):
        self.seconds_per_unit = dict(seconds_per_unit)
        self.ticking, self.now, self.count, self.log = ticking, 0.0, None, []

    def clock(self):
        if self.ticking and self.count is not None:
            self.now += self.seconds_per_unit[self.count] / 2
        return self.now

    def apply(self, count):
        self.count = count

    def run(self, chooser, units, rows=100, scale=1.0):
        for _ in range(units):
            chooser.begin()
            self.log.append(self.count)
            self.now += scale * self.seconds_per_unit[self.count]
            chooser.end(rows)

    def follow_the_real_setting(self, monkeypatch):
        """Use this clock in deeplearner, and let its count follow what fit sets through threadpoolctl."""
        real_limit = threads._controller().limit

        def limit(limits, user_api):
            self.count = limits
            return real_limit(limits=limits, user_api=user_api)

        monkeypatch.setattr(threads, "perf_counter", self.clock)
        monkeypatch.setattr(threads._controller(), "limit", limit)


def chooser_on(machine, counts=(1, 2)):
    chooser = ThreadChooser(counts, clock=machine.clock)
    chooser.apply = machine.apply
    return chooser


def test_the_candidates_are_one_thread_and_the_default_and_a_few_between():
    assert [candidates(n) for n in (1, 2, 3, 4, 8, 16, 64)] == [
        [1], [1, 2], [1, 3], [1, 2, 4], [1, 2, 4, 8], [1, 4, 8, 16], [1, 16, 32, 64]]


@pytest.mark.parametrize("seconds, chosen", [({1: 1.0, 2: 0.6}, 2), ({1: 1.0, 2: 2.5}, 1)])
def test_the_fastest_count_is_chosen(seconds, chosen):
    machine = Machine(seconds)
    chooser = chooser_on(machine)
    machine.run(chooser, 30)
    assert chooser.choice == chosen
    assert machine.log[:6] == [1] * 6                     # the probe: one untimed unit, five timed
    assert set(machine.log[12:]) == {chosen}


def test_the_first_warm_up_lasts_a_tenth_of_a_second():
    """The first batches of a run are slower (allocations, caches): they must not count for 1 thread."""
    machine = Machine({1: 0.02, 2: 0.05})
    machine.run(chooser_on(machine), 11)
    assert machine.log == [1] * 10 + [2]                   # 0.1 s (5 units) of warm-up, then 5 timed
    machine = Machine({1: 1.0, 2: 3.0})
    machine.run(chooser_on(machine), 7)
    assert machine.log == [1] * 6 + [2]                    # one long unit is warm-up enough


def test_a_clearly_slower_count_is_dropped_after_one_timed_unit():
    machine = Machine({1: 1.0, 2: 3.0})
    machine.run(chooser_on(machine), 10)
    assert machine.log[:9] == [1] * 6 + [2, 2, 1]        # 2 threads: warm-up, one timed unit, gone


def test_a_count_whose_warm_up_is_three_times_slower_is_not_timed_at_all():
    machine = Machine({1: 1.0, 2: 4.0})                    # another process holds the second core
    machine.run(chooser_on(machine), 9)
    assert machine.log == [1] * 6 + [2] + [1, 1]


def runs_of(count, log):
    """The lengths of the stretches of ``log`` spent at ``count``, in order."""
    return [len(list(group)) for value, group in itertools.groupby(log) if value == count]


def test_a_scheduled_probe_starts_with_the_count_in_use_and_leaves_a_slower_one_after_a_sample():
    machine = Machine({1: 1.3, 2: 1.0})                   # idle: two threads 1.3x faster
    chooser = chooser_on(machine)
    machine.run(chooser, 500)
    assert chooser.choice == 2
    stretches = runs_of(1, machine.log)
    assert stretches[0] == 6                              # the first probe: warm-up and five timed
    assert len(stretches) >= 2 and all(n == 2 for n in stretches[1:])   # later: warm-up, one timed
    assert machine.log[0] == 1 and machine.log.count(1) < 0.05 * len(machine.log)


def test_counts_within_five_percent_are_equal_and_the_fewer_threads_win():
    machine = Machine({1: 1.0, 2: 0.96})
    chooser = chooser_on(machine)
    machine.run(chooser, 16)
    assert chooser.choice == 1
    machine = Machine({1: 1.0, 2: 0.94})
    chooser = chooser_on(machine)
    machine.run(chooser, 16)
    assert chooser.choice == 2


def test_a_busier_machine_is_noticed_within_a_few_units_and_a_quiet_one_at_the_next_probe():
    machine = Machine({1: 0.02, 2: 0.012})                  # idle: two threads are faster
    chooser = chooser_on(machine)
    machine.run(chooser, 50)
    assert chooser.choice == 2
    machine.seconds_per_unit = {1: 0.022, 2: 0.06}         # another process starts
    start = len(machine.log)
    machine.run(chooser, 12)
    assert chooser.choice == 1
    assert machine.log[start:start + 4] == [2, 2, 2, 1]    # three slow units, then a probe at once
    machine.seconds_per_unit = {1: 0.02, 2: 0.012}         # it stops
    before = machine.now
    machine.run(chooser, 1000)
    back = machine.log.index(2, len(machine.log) - 1000)
    assert chooser.choice == 2 and machine.now - before > 1.0
    assert back < 1000 and machine.log[-1] == 2
    # found again at the next scheduled probe, within the longest interval
    assert sum(machine.seconds_per_unit[c] for c in machine.log[-1000:back - len(machine.log)]) < 16.5


def test_slow_samples_at_one_thread_wait_for_the_next_probe():
    """A busier machine can only make more threads worse; at one thread slow samples are noise."""
    machine = Machine({1: 0.02, 2: 0.05})
    chooser = chooser_on(machine)
    machine.run(chooser, 30)
    assert chooser.choice == 1
    start = len(machine.log)
    machine.run(chooser, 10, scale=3.0)                    # 0.6 s of slow samples
    assert machine.log[start:] == [1] * 10


def test_probing_takes_little_of_a_long_steady_run():
    machine = Machine({1: 0.020, 2: 0.050})                # busy: 2 threads 2.5 times slower
    chooser = chooser_on(machine)
    machine.run(chooser, 10_000)                           # 200 s of training at the best count
    wasted = sum(machine.seconds_per_unit[c] - 0.020 for c in machine.log)
    assert chooser.choice == 1 and wasted / machine.now < 0.01
    probes = sum(1 for a, b in zip(machine.log, machine.log[1:]) if a == 1 and b == 2)
    assert 10 <= probes <= 25                              # about one every 16 s, after 1, 2, 4, 8


def test_small_units_are_timed_together_in_samples_of_10_ms():
    machine = Machine({1: 0.001, 2: 0.0025})               # 1 ms batches: ten to a sample
    chooser = chooser_on(machine)
    machine.run(chooser, 200)
    assert chooser.choice == 1
    assert machine.log[:60] == [1] * 60                    # warm-up and five timed samples of ten
    assert 4 <= machine.log.count(2) <= 5 * 4              # a warm-up sample and one timed (rounding)


def test_slow_batches_just_after_a_switch_are_not_taken_for_a_busier_machine():
    """After fewer threads take over, the workers of the last count spin for ~0.1 s."""
    machine = Machine({1: 0.02, 2: 0.05})
    chooser = chooser_on(machine)
    machine.run(chooser, 15)                               # the probe ends on 2, then 1 takes over
    assert chooser.choice == 1 and machine.log[-1] == 1
    start = len(machine.log)
    machine.run(chooser, 5, scale=2.0)                     # 0.2 s at twice the time: within 0.25 s
    machine.run(chooser, 20)
    assert machine.log[start:] == [1] * 25                 # no probe was started


def test_a_batch_one_row_longer_still_counts():
    """A last single row joins the batch before it: 1001 rows is the same work as 1000."""
    machine = Machine({1: 1.0, 2: 0.5})
    chooser = chooser_on(machine)
    for _ in range(8):
        machine.run(chooser, 1, rows=1000)
        machine.run(chooser, 1, rows=1001)
    assert chooser.choice == 2 and machine.log[:7] == [1] * 6 + [2]     # every unit timed


def test_a_shorter_last_unit_is_not_timed():
    """A small last batch at one thread looks fast per unit; it must not count."""
    machine = Machine({1: 1.0, 2: 0.5})
    chooser = chooser_on(machine)
    for _ in range(12):
        machine.run(chooser, 1)
        machine.run(chooser, 1, rows=7, scale=0.05 if machine.count == 1 else 1.0)   # 1 thread: nearly free
    assert chooser.choice == 2


# ---------------------------------------------------------------- in fit, predict and evaluate
class RecordThreads(Layer):
    """The identity, noting the BLAS thread count each time it runs."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, X, training=True):
        self.seen.append(blas_threads_now())
        return X

    def backward(self, dY):
        return dY


def recording_model():
    model = Sequential([RecordThreads(), Dense(5), Activation("tanh"), Dense(3), Activation("softmax")],
                       SGD(learning_rate=0.1), CrossEntropyForSoftMax(), input_shape=4, seed=0)
    return model, model.layers[0]


X = np.random.default_rng(0).normal(size=(100, 4))
y = np.arange(100) % 3


def test_threads_1_is_used_throughout_fit_predict_and_evaluate_and_given_back():
    before = threadpool_info()
    model, recorder = recording_model()
    model.fit(X, y, X[:20], y[:20], epochs=2, batch_size=10, verbose=0, threads=1)
    model.predict_proba(X, threads=1)
    model.predict(X, threads=1)
    model.evaluate(X, y, threads=1)
    assert len(recorder.seen) == 20 + 2 + 3 and all(set(seen) == {1} for seen in recorder.seen)
    assert threadpool_info() == before


@needs_threads
@pytest.mark.parametrize("fast", [1, MOST])
def test_automatic_fit_settles_on_the_count_the_clock_says_is_fastest(fast, monkeypatch):
    machine = Machine({count: 1.0 if count == fast else 3.0 for count in candidates(MOST)}, ticking=True)
    machine.follow_the_real_setting(monkeypatch)
    before = threadpool_info()
    model, recorder = recording_model()
    model.fit(X, y, epochs=5, batch_size=10, verbose=0)          # 50 batches
    assert all(len(set(seen)) == 1 and seen[0] in candidates(MOST) for seen in recorder.seen)
    assert [seen[0] for seen in recorder.seen[-10:]] == [fast] * 10
    assert threadpool_info() == before


@needs_threads
def test_what_fit_learned_carries_over_to_the_next_call(monkeypatch):
    """fit(epochs=1) in a loop: the probe goes on across calls instead of starting again."""
    machine = Machine({count: 1.0 if count == 1 else 3.0 for count in candidates(MOST)}, ticking=True)
    machine.follow_the_real_setting(monkeypatch)
    model, recorder = recording_model()
    for _ in range(6):
        model.fit(X[:20], y[:20], epochs=1, batch_size=10, verbose=0)   # 2 batches per call
    counts = [seen[0] for seen in recorder.seen]
    assert counts[:6] == [1] * 6 and counts[6] != 1 and counts[-4:] == [1, 1, 1, 1]


@needs_threads
def test_small_predictions_leave_the_threads_alone_and_large_ones_choose(monkeypatch):
    model, recorder = recording_model()
    with threadpool_limits(MOST, user_api="blas"):
        monkeypatch.setattr(model, "predict_batchsize", 10)
        model.predict_proba(X[:70])                                # 7 chunks: too few to time
        assert [seen[0] for seen in recorder.seen] == [MOST] * 7
        recorder.seen.clear()
        model.predict_proba(X)                                     # 10 chunks: the probe starts with 1
        assert [seen[0] for seen in recorder.seen][:6] == [1] * 6
        assert blas_threads_now() == [MOST] * len(blas_threads_now())


@pytest.mark.parametrize("threads_", [None, 1])
def test_nothing_leaks_when_fit_raises(threads_):
    class Boom(Callback):
        def on_epoch_end(self, model, epoch, logs):
            raise RuntimeError("boom")

    before = threadpool_info()
    model, _ = recording_model()
    with pytest.raises(RuntimeError, match="boom"):
        model.fit(X, y, epochs=3, batch_size=10, verbose=0, callbacks=[Boom()], threads=threads_)
    assert threadpool_info() == before


def test_nothing_leaks_when_predict_raises_or_when_an_outer_limit_is_in_force():
    class Broken(RecordThreads):
        def forward(self, X, training=True):
            raise ValueError("broken layer")

    model = Sequential([Broken(), Dense(3), Activation("softmax")], SGD(), CrossEntropyForSoftMax(), input_shape=4)
    before = threadpool_info()
    with pytest.raises(ValueError, match="broken layer"):
        model.predict_proba(X, threads=1)
    assert threadpool_info() == before
    model, recorder = recording_model()
    with threadpool_limits(1, user_api="blas"):                 # the user's own limit is the most fit may use
        model.fit(X, y, epochs=1, batch_size=10, verbose=0)
        assert all(set(seen) == {1} for seen in recorder.seen)
        assert blas_threads_now() == [1] * len(blas_threads_now())
    assert threadpool_info() == before


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "2", 2.0])
@pytest.mark.parametrize("call", ["fit", "predict", "predict_proba", "evaluate"])
def test_a_bad_threads_value_is_a_clear_error(call, value):
    model, _ = recording_model()
    arguments = {"fit": (X, y), "predict": (X,), "predict_proba": (X,), "evaluate": (X, y)}[call]
    with pytest.raises(ValueError, match=rf"^{call}: threads must be None \(chosen by timing\) or a positive "
                                         rf"integer, received threads={value!r}\. Pass e\.g\. threads=1"):
        getattr(model, call)(*arguments, threads=value)


def test_importing_deeplearner_does_not_import_threadpoolctl():
    """threadpoolctl costs 10-20 ms to import: it loads when a model first chooses threads."""
    root = str(Path(threads.__file__).parents[2])            # the folder that holds deeplearner/
    code = "import sys, deeplearner; print('threadpoolctl' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": root}).stdout
    assert out.strip() == "False"


def test_a_model_that_chose_threads_can_still_be_pickled():
    import pickle
    model, _ = recording_model()
    model.fit(X, y, epochs=2, batch_size=10, verbose=0)
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.predict_proba(X), model.predict_proba(X))
