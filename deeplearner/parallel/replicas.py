"""Data parallelism on one machine: each batch split between threads, each with a replica of the layers.

NumPy runs an elementwise operation, a copy or a small matrix product on one core, and
releases Python's GIL while it does. A convolutional network's step is made of such loops:
im2col copies, one small product per image, pooling's maxima, BatchNorm's passes. BLAS's own
threads barely help it (its products are too small to split), but two Python threads that
each take half of the batch run at once, on two cores. So a step with r parts goes:

    1. the batch's n rows are cut into r parts of nearly equal size; the calling thread
       takes part 0, helper threads the others
    2. each thread runs the model's one training step (deeplearner/model/step.py) on its
       part, through its own replica of every layer: the same parameter arrays, but its own
       caches and gradients
    3. a layer whose math needs the whole batch asks its ``whole_batch``, here a
       `PartOfBatch` (split.py): BatchNorm's sums are added up over the parts, so every part
       normalizes with the whole batch's mean and variance; Dropout's mask is drawn once for
       the whole batch and each part takes its rows
    4. the loss is a mean over the batch, so part k's loss and gradient are weighted by
       n_k / n: the parts then add up to the whole batch's. The parts exchange their losses
       too, so all of them see the same total: if it is not finite, every part stops before
       backward (a part that went on alone would wait for the others' sums for ever)
    5. each layer's gradient is the sum of its replicas'; the model's optimizer steps once

The step is the one-thread step, up to rounding: the sums are added in another order.
Inference splits the same way and exchanges nothing. (The model's own layers do not run in a
split step, so after a split fit their caches, ``layer.X`` or ``layer.cols``, hold an earlier
batch's arrays, not the last one's.)

Which models split: those with a Conv2D whose layers and loss all treat each sample alone, as
far as this package knows: the built-in classes (exactly those classes: a subclass might keep
state or change its parameters in backward), and a class of your own that says
``splits_batch = True`` in its own body. A `Residual` block counts as its layers do: it splits
when every layer inside it may, and its layers' replicas share the model's arrays and get their
part of the batch like the model's own layers. An MLP's time is in large products, which BLAS's
threads split well: it keeps them. How many parts: the thread count ``fit`` chooses or is
given (threads.py), but never parts of fewer than ``MIN_ROWS`` rows. Each part pays for the
exchanges, and for the GIL, which the threads take in turns between NumPy's calls; small parts
are mostly such overhead. On the benchmark's CNN (2-core Xeon, ms per step, one thread / two
parts): 3.0 / 4.5 at batch 32, 4.1 / 4.7 at 48, 7.0 / 6.3 at 64, 13.7 / 9.0 at 128 and 26.0 /
16.4 at 256. A smaller batch runs on one thread, as if the count were 1.
"""

import copy

import numpy as np

from ..layers import compat
from ..layers.activations import ACTIVATIONS, Activation
from ..layers.batchnorm import BatchNorm
from ..layers.conv2d import Conv2D
from ..layers.dense import Dense
from ..layers.dropout import Dropout
from ..layers.flatten import Flatten
from ..layers.global_pooling import GlobalAvgPool2D
from ..layers.groupnorm import GroupNorm, InstanceNorm
from ..layers.layernorm import LayerNorm
from ..layers.pooling import AvgPool2D, MaxPool2D
from ..layers.residual import Residual, all_layers, inner_layers
from ..losses import CrossEntropyForSoftMax, MeanSquaredError
from ..model.step import forward, forward_backward
from .split import Group, PartOfBatch, cut, run

MIN_ROWS = 32     # the fewest rows in a part: see the module's docstring

# The built-in classes whose forward and backward treat each sample alone (BatchNorm and
# Dropout through their whole_batch; LayerNorm, GroupNorm and InstanceNorm have statistics per
# sample); the losses are means over the rows. A Residual block is listed because can_split
# looks at every layer inside it too.
SPLITS = {Dense, BatchNorm, Conv2D, MaxPool2D, AvgPool2D, Dropout, Flatten, LayerNorm, GroupNorm, InstanceNorm,
          GlobalAvgPool2D, Residual, CrossEntropyForSoftMax, MeanSquaredError}
BUILT_IN_FUNCTIONS = tuple(type(fn) for fn in ACTIVATIONS.values())


def can_split(model):
    """Whether ``model``'s batches may be split between threads: a Conv2D, and only layers that may.

    The layers inside `Residual` blocks count as the model's own.
    """
    layers = list(all_layers(model.layers))
    return any(isinstance(layer, Conv2D) for layer in layers) and all(splits(obj) for obj in (*layers, model.loss))


def splits(obj):
    """Whether the layer or loss ``obj`` may run on part of a batch.

    True for the built-in classes above, an Activation with a built-in function (a function
    object of yours is shared by every replica and might keep state between forward and
    backward), and a class whose own body says ``splits_batch = True``; but never for an
    object that had a forward or backward of its own put on it (a timer, a debugging hook: it
    would run for every replica at once, on the one object it belongs to).
    """
    cls = type(obj)
    if {"forward", "backward"} & vars(obj).keys():
        return False
    if cls is Activation:
        return type(obj.fn) in BUILT_IN_FUNCTIONS
    return cls in SPLITS or bool(vars(cls).get("splits_batch", False))


class Replicas:
    """``count`` replicas of a model's layers and loss, one per part of a batch.

    Made when a ``fit`` or ``predict`` call starts splitting, and dropped when it returns.
    A replica is a deep copy of the layer that keeps the model's own parameter and buffer
    arrays and its random generator: its caches and ``grads`` are its own.
    """

    def __init__(self, model, count, min_rows=MIN_ROWS):
        self.model, self.count, self.min_rows = model, count, min_rows
        shared = {id(model.rng): model.rng}
        for layer in all_layers(model.layers):      # inside blocks too: their replicas share them as well
            for array in (*compat.params_of(layer).values(), *compat.buffers_of(layer).values()):
                shared[id(array)] = array
        self.layers = [[copy.deepcopy(layer, dict(shared)) for layer in model.layers] for _ in range(count)]
        self.losses = [copy.copy(model.loss) for _ in range(count)]       # a loss keeps its last batch

    def forward_backward(self, X, T):
        """The model's step without the optimizer, on the batch split into parts: ``(loss, output, None)``.

        Fills each of the model's layers' ``grads`` with the sum of its replicas'. dX is not
        gathered: nothing in fit reads it.
        """
        model, n = self.model, len(X)
        parts = cut(n, self.count, self.min_rows)
        if len(parts) == 1 or not can_split(model):     # again: a callback may have hooked a layer
            return forward_backward(model.body, model.loss, X, T)
        group = Group(len(parts))
        n_body = len(model.body)

        def step(k):
            rows = parts[k]
            batch = PartOfBatch(group, k, rows, n)
            loss = PartLoss(self.losses[k], (rows.stop - rows.start) / n, batch)
            loss_value, output, _ = forward_backward(self.ready(k, batch)[:n_body], loss, X[rows], T[rows])
            return loss_value, output

        try:
            results = run(step, len(parts), group)
        finally:
            self.clear()
        loss, output = results[0][0], np.concatenate([output for _, output in results])
        if np.isfinite(loss):
            for position, layer in enumerate(model.body):
                for name, grad in compat.grads_of(layer).items():
                    np.copyto(grad, self.layers[0][position].grads[name])
                    for k in range(1, len(parts)):
                        grad += self.layers[k][position].grads[name]
        return loss, output, None

    def forward(self, X, n_layers):
        """X : (batch, *input_shape) -> output of the model's first ``n_layers`` layers, in inference mode."""
        parts = cut(len(X), self.count, self.min_rows)
        if len(parts) == 1 or not can_split(self.model):
            return forward(self.model.layers[:n_layers], X, False)
        outputs = run(lambda k: forward(self.ready(k, None)[:n_layers], X[parts[k]], False), len(parts), None)
        return np.concatenate(outputs)

    def ready(self, k, batch):
        """Replica k's layers, pointed at the model's current arrays and told their part of the batch."""
        for layer, twin in pairs(self.model.layers, self.layers[k]):
            twin.params, twin.buffers = layer.params, layer.buffers
            if batch is not None:
                twin.whole_batch = batch
        return self.layers[k]

    def clear(self):
        """No barrier outlives its step: every replica's whole_batch is its class's again."""
        for layers in self.layers:
            for twin in all_layers(layers):
                vars(twin).pop("whole_batch", None)


def pairs(layers, twins):
    """(layer, its replica) for each of ``layers`` and, after a block, for each layer inside it."""
    for layer, twin in zip(layers, twins):
        yield layer, twin
        yield from pairs([inner for _, inner in inner_layers(layer)], [inner for _, inner in inner_layers(twin)])


class PartLoss:
    """Part k's loss: the batch's loss is sum_k (n_k / n) loss_k, so forward and backward are
    weighted by n_k / n, and forward returns the total over the parts (all of them must agree
    whether the loss is finite)."""

    def __init__(self, loss, weight, batch):
        self.loss, self.weight, self.batch = loss, weight, batch

    def forward(self, Y, T):
        return self.batch.sum(self.loss.forward(Y, T) * self.weight)

    def backward(self):
        return self.loss.backward() * self.weight
