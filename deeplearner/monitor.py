"""LayerMonitor: what happens inside a network while it trains, recorded as plain arrays.

    monitor = LayerMonitor(X_valid[:500], every=10)
    model.fit(X_train, y_train, epochs=20, callbacks=[monitor])

    monitor.steps                          # (R,) the training steps recorded: 10, 20, 30, ...
    monitor.names                          # ["0 Dense", "1 BatchNorm", "2 relu", ...]
    monitor.outputs["2 relu"]["p50"]       # (R,) the median of that layer's outputs
    monitor.outputs["2 relu"]["dead"]      # (R,) the fraction of its units that are dead
    monitor.grad_norms["0 Dense"]["W"]     # (R,) ||dL/dW|| of that step
    monitor.update_ratios["0 Dense"]["W"]  # (R,) ||W_after - W_before|| / ||W_before||
    monitor.outputs["3 Residual / 1 BatchNorm"]       # a layer inside a block, by its path

and ``deeplearner.plot`` draws them: ``plot_percentiles``, ``plot_layer_histograms``,
``plot_grad_norms``.
"""

import numbers

import numpy as np

from .callbacks import Callback
from .layers import compat
from .layers.residual import inner_layers
from .validation import check_X

# An output counts as saturated where the activation's slope is below 4% of its peak:
# sigmoid'(x) = y (1 - y) <= 0.0099 (peak 0.25) when |y - 0.5| > 0.49; tanh'(x) = 1 - y^2
# <= 0.0396 (peak 1) when |y| > 0.98. There the gradient through the unit nearly vanishes.
SATURATION = {"sigmoid": (0.5, 0.49), "tanh": (0.0, 0.98)}   # name -> (centre, half-width)


class LayerMonitor(Callback):
    """Record, every ``every`` training steps, statistics of each layer's outputs, gradients and updates.

    Parameters
    ----------
    X_probe : array-like of shape (n, *input_shape), n >= 2
        A fixed batch the monitor runs through the model at each record, so that records differ
        only because the weights changed, not because the batch did (Ioffe & Szegedy's Figure 1
        follows a sigmoid's input over training in the same way). A few hundred rows of
        validation data are typical.
    every : int >= 1
        Record after steps every, 2 every, 3 every, ... (counted across fit calls).
    layers : list of int, optional
        The positions of the layers to record; all by default. A `Residual` block's position
        records the block's output and every layer inside it.
    percentiles : tuple of numbers in [0, 100]
        Recorded as keys "p15", "p50", "p85" (for the default).
    sample : int >= 1
        How many output values of each layer to keep per record, for histograms: always the
        same positions, evenly spaced over the (probe row, unit) entries.
    training : bool
        Run the probe in training mode (True, the default: BatchNorm normalizes with the probe's
        own statistics, as it does every batch in training) or in inference mode (False: with
        the running statistics, as ``predict`` does).

    Attributes
    ----------
    steps : ndarray of shape (R,)
        The step after which each record was taken, counted from 1. R is the number of records
        so far; this and every attribute below are built from the records when read.
    loss : ndarray of shape (R,)
        The training loss of that step's batch (before the step).
    names : list of str
        The keys below, "position name" for each recorded layer, in order: "0 Dense", "2 relu".
        A layer inside a block follows the block, named by its path: "3 Residual / 0 Conv2D",
        "3 Residual / shortcut 0 Conv2D", "3 Residual / 2 Residual / 0 Conv2D".
    outputs : dict of name -> dict of str -> ndarray
        For each layer, statistics of its output Y on the probe, over all its entries:
        "mean", "std", "p15", "p50", "p85" of shape (R,); "p15_per_unit", ... of shape
        (R, units), the same percentiles of each unit (a feature, or an image channel) over the
        probe; "values" (R, sample), the kept values; and for relu "dead", for sigmoid and
        tanh "saturated", of shape (R,) (see Notes).
    grad_norms, update_ratios : dict of name -> dict of str -> ndarray of shape (R,)
        For each layer with parameters, by parameter name ("W", "b", "gamma", ...); a block's
        are under the names of the layers inside it, not under its own.

    Notes
    -----
    At a recorded step s the monitor

    1. before the step (``on_batch_begin``), copies every parameter of the watched layers: W_before;
    2. after it (``on_batch_end``) reads, for each parameter, the gradient ``backward`` left in
       ``layer.grads`` and computes::

           grad_norm    = ||dL/dW||                       (the Frobenius norm, sqrt(sum dW^2))
           update_ratio = ||W - W_before|| / ||W_before||  (nan while ||W_before|| = 0, as for
                                                             biases that start at zero)

       CS231n's rule of thumb: an update ratio near 1e-3 is healthy; far below, learning is
       slow; far above, it is unstable;
    3. runs X_probe forward through every layer and records each output Y:
       mean, std and percentiles over all entries; per unit the percentiles over the probe;
       dead = the fraction of relu units whose output is 0 for every probe row (for images, a
       unit is a channel: 0 at every row and position), which get no gradient ever again;
       saturated = the fraction of sigmoid outputs with |y - 0.5| > 0.49, or of tanh outputs
       with |y| > 0.98, where the slope is below 4% of its peak.

    The probe's forward leaves training as it was: the BatchNorm running statistics it moves
    and the state of the model's generator it draws from (Dropout) are put back, so a run with
    a monitor has bit-identical weights to a run without. (The plain-attribute state of a
    seed-notebook-style layer is not put back.)

    Cost. When no monitor is passed to ``fit``, none of this runs: fit looks up the batch hooks
    once, and per batch tests two empty lists. With one, on the seed's workload
    (``python examples/monitor_cost.py --epochs 20``: 4000 rows of 400 features in batches of
    1000, 4 steps per epoch, validation after each epoch, the seed's 9-layer BatchNorm network, a
    probe of 500 rows, every layer watched), medians on a shared 2-core machine with
    ``OMP_NUM_THREADS=1``: 34.1 ms per epoch without, 37.6 ms with every=10 (+10%), 59.9 ms with
    every=1 (+76%); with OpenBLAS's default threads 26.8, 30.8 (+15%) and 49.8 ms (+86%). A record
    costs about 5.5 ms: the probe's forward pass (about half) and one sort of each layer's output
    for the percentiles. Fewer layers (``layers=``) or a smaller probe cost less.
    """

    def __init__(self, X_probe, every=10, layers=None, percentiles=(15, 50, 85), sample=500, training=True):
        if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1:
            raise ValueError(f"LayerMonitor: every must be an integer >= 1 (record every that many steps), "
                             f"received every={every!r}.")
        if isinstance(sample, bool) or not isinstance(sample, numbers.Integral) or sample < 1:
            raise ValueError(f"LayerMonitor: sample must be an integer >= 1 (values kept per layer and "
                             f"record), received sample={sample!r}.")
        try:
            percentiles = tuple(float(q) for q in percentiles)
        except (TypeError, ValueError):
            percentiles = ()
        if not percentiles or not all(0 <= q <= 100 for q in percentiles):
            raise ValueError(f"LayerMonitor: percentiles must be numbers in [0, 100], e.g. (15, 50, 85), "
                             f"received percentiles={percentiles!r}.")
        if layers is not None and (isinstance(layers, (str, bytes)) or not all(
                isinstance(i, numbers.Integral) and not isinstance(i, bool) for i in layers)):
            raise ValueError(f"LayerMonitor: layers must be a list of layer positions (ints), e.g. [0, 2], "
                             f"received layers={layers!r}.")
        self.X_probe, self.every, self.sample, self.training = X_probe, int(every), int(sample), bool(training)
        self.percentiles = percentiles
        self.layers = None if layers is None else [int(i) for i in layers]
        self.step = 0            # steps seen, across fit calls
        self.model_id = None     # the model being recorded: one monitor records one model
        self._steps, self._loss = [], []
        self._outputs, self._grad_norms, self._update_ratios = {}, {}, {}
        self._before = None

    # ---------------------------------------------------------------- the records, as arrays
    @property
    def steps(self):
        return np.array(self._steps, dtype=np.int64)

    @property
    def loss(self):
        return np.array(self._loss, dtype=np.float64)

    @property
    def names(self):
        return list(self._outputs)

    @property
    def outputs(self):
        return _as_arrays(self._outputs)

    @property
    def grad_norms(self):
        return _as_arrays(self._grad_norms)

    @property
    def update_ratios(self):
        return _as_arrays(self._update_ratios)

    def name_of(self, layer):
        """The key of a recorded layer, given its key or its position: ``name_of(2) == "2 relu"``."""
        names = self.names
        if isinstance(layer, str) and layer in names:
            return layer
        if isinstance(layer, numbers.Integral) and not isinstance(layer, bool):
            for name in names:
                if int(name.split(" ")[0]) == layer:
                    return name
        raise ValueError(f"LayerMonitor: no recorded layer {layer!r}; the recorded layers are {names} "
                         f"(pass a name or its position)." if names else
                         "LayerMonitor: nothing recorded yet. Pass the monitor to fit: fit(..., callbacks=[monitor]).")

    # ---------------------------------------------------------------- the hooks fit calls
    def on_train_begin(self, model):
        if self.model_id is not None and self.model_id != id(model):
            raise ValueError("LayerMonitor: this monitor already holds the records of another model. Create one "
                             "LayerMonitor per model.")
        self.model_id = id(model)
        try:
            probe = check_X(self.X_probe, model.input_shape, model.dtype, name="X_probe")
        except (TypeError, ValueError) as error:
            raise type(error)(f"LayerMonitor: {error}") from None
        if len(probe) < 2:
            raise ValueError(f"LayerMonitor: X_probe needs at least 2 samples (BatchNorm in training mode "
                             f"needs two to compute a variance), received {len(probe)}.")
        self._probe = probe
        n = len(model.layers)
        positions = range(n) if self.layers is None else self.layers
        bad = [i for i in positions if not -n <= i < n]
        if bad:
            raise ValueError(f"LayerMonitor: layers={self.layers} holds positions {bad}, but the model has "
                             f"{n} layers (0 to {n - 1}).")
        self._positions = sorted({i % n for i in positions})
        self._keys = {i: f"{i} {compat.layer_name(model.layers[i])}" for i in self._positions}
        # Every recorded layer, those inside blocks too, in order: [(name, layer), ...]
        self._watched = [pair for i in self._positions for pair in _with_inner(self._keys[i], model.layers[i])]

    def on_batch_begin(self, model, batch):
        self.step += 1
        if self.step % self.every == 0:
            self._before = {(key, name): param.copy() for key, layer in self._watched if not inner_layers(layer)
                            for name, param in compat.params_of(layer).items()}

    def on_batch_end(self, model, batch, logs):
        if self.step % self.every != 0:
            return
        self._steps.append(self.step)
        self._loss.append(logs["loss"])
        for key, layer in self._watched:
            if inner_layers(layer):
                continue                        # a block's arrays are its layers': recorded under their names
            grads = compat.grads_of(layer)
            for name, param in compat.params_of(layer).items():
                before = self._before[(key, name)]
                size = np.linalg.norm(before)
                change = np.linalg.norm(param - before)
                _append(self._grad_norms, key, name, float(np.linalg.norm(grads[name])) if name in grads
                        else float("nan"))
                _append(self._update_ratios, key, name, float(change / size) if size > 0 else float("nan"))
        self._before = None
        self._record_outputs(model)

    # ---------------------------------------------------------------- the probe
    def _record_outputs(self, model):
        """Run the probe through every layer; record the outputs of the monitored ones."""
        # The probe must not change training: keep what a forward pass may move, put it back after.
        rng_state = model.rng.bit_generator.state
        buffers = [array for layer in model.layers for array in compat.buffers_of(layer).values()]
        kept = [array.copy() for array in buffers]
        names = {id(layer): key for key, layer in self._watched}
        outputs = {}                                        # name -> that layer's output on the probe
        blocks = [layer for _, layer in self._watched if inner_layers(layer)]
        for block in blocks:                                # a block tells of its layers' outputs
            block.watch = _Outputs(names, outputs)
        try:
            Y = self._probe
            for layer in model.layers:
                Y = layer.forward(Y, self.training)
                if id(layer) in names:
                    outputs[names[id(layer)]] = Y
        finally:
            for block in blocks:
                vars(block).pop("watch", None)
            for array, copy in zip(buffers, kept):
                np.copyto(array, copy)
            model.rng.bit_generator.state = rng_state
        for key, layer in self._watched:                    # in the model's order, each block before its layers
            self._record(key, compat.layer_name(layer), outputs[key])

    def _record(self, key, kind, Y):
        """Y : ndarray of shape (n, units) or (n, channels, height, width): one layer's probe output."""
        stats = {"mean": float(Y.mean()), "std": float(Y.std())}
        per_unit = np.moveaxis(Y.reshape(len(Y), Y.shape[1], -1), 1, 0).reshape(Y.shape[1], -1)  # (units, n * L)
        pooled = percentiles_of(Y.reshape(-1), self.percentiles)                 # (len(q),)
        by_unit = percentiles_of(per_unit, self.percentiles).T                   # (units, len(q)) -> (len(q), units)
        for q, value, values in zip(self.percentiles, pooled, by_unit):
            stats[f"p{q:g}"] = float(value)
            stats[f"p{q:g}_per_unit"] = values
        if kind == "relu":
            stats["dead"] = float(np.mean(np.all(per_unit == 0, axis=1)))       # units silent on every row
        elif kind in SATURATION:
            centre, half_width = SATURATION[kind]
            stats["saturated"] = float(np.mean(np.abs(Y - centre) > half_width))
        picks = np.linspace(0, Y.size - 1, min(self.sample, Y.size)).round().astype(np.int64)
        stats["values"] = Y.reshape(-1)[picks].copy()                           # (sample,)
        for name, value in stats.items():
            _append(self._outputs, key, name, value)


def percentiles_of(A, q):
    """A : ndarray of shape (..., n) -> its q-th percentiles along the last axis, shape (..., len(q)).

    The numbers of ``np.percentile(A, q, axis=-1)`` with its default linear method, to the last
    bit: sort, then for each q take the position p = (q / 100) (n - 1) between its neighbours
    v[floor(p)] and v[floor(p) + 1], with t = p - floor(p)::

        value = v[lo] + t (v[hi] - v[lo])        (for t >= 1/2 NumPy computes v[hi] - (1 - t) (v[hi] - v[lo]))

    One sort instead of np.percentile's partitions: 0.2-0.5 ms instead of 2.5-3 ms on a (500, 100)
    output (NumPy 2 sorts with SIMD), which is most of what a record costs. NaN (which sorts last)
    gives NaN, as in NumPy.
    """
    S = np.sort(A, axis=-1)                                   # (..., n)
    n = S.shape[-1]
    position = np.asarray(q, dtype=np.float64) / 100 * (n - 1)   # (len(q),)
    lo = np.floor(position).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    t = position - lo
    low, high = S[..., lo], S[..., hi]                        # (..., len(q)) each
    gap = high - low
    values = np.where(t >= 0.5, high - gap * (1 - t), low + gap * t)
    return np.where(np.isnan(S[..., -1:]), np.nan, values)


def _with_inner(key, layer):
    """[(key, layer)] and, for a block, the (path, layer) of every layer inside it, depth first."""
    pairs = [(key, layer)]
    for inner_key, inner in inner_layers(layer):
        position = inner_key.replace("shortcut.", "shortcut ")
        pairs += _with_inner(f"{key} / {position} {compat.layer_name(inner)}", inner)
    return pairs


class _Outputs:
    """A block's ``watch`` while the probe runs: keeps the output of each recorded layer inside it."""

    def __init__(self, names, outputs):
        self.names, self.outputs = names, outputs

    def forward(self, key, layer, X, Y):
        if id(layer) in self.names:
            self.outputs[self.names[id(layer)]] = Y

    def backward(self, key, layer, dY, dX):
        pass


def _append(table, key, name, value):
    table.setdefault(key, {}).setdefault(name, []).append(value)


def _as_arrays(table):
    return {key: {name: np.array(values) for name, values in columns.items()} for key, columns in table.items()}
