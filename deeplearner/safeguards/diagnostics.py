"""After ``fit``: did the training go anywhere? If not, a `TrainingWarning` names the likely cause.

A run can fail without any error: the loss stays finite, so the divergence guard (divergence.py),
which acts on NaN and infinity, has nothing to catch, and the learner sees only bad numbers.
Once ``fit`` ends, three checks look at what it already has, the history, the training X and the
layers, and each warns with the likely cause and one thing to try:

1. **The loss grew by orders of magnitude**: the last epoch's training loss is at least 100
   times that of a model that knows nothing (log k for the cross-entropy over k classes: the loss
   of guessing every class with probability 1/k; for another loss, the first epoch's loss).
   Likely cause: a learning rate far too high.
2. **The input is far from unit scale and nothing normalizes it**: the root mean square of X is
   above 10 or below 0.01 (pixels 0..255: about 80; pixels in [0, 1]: about 0.3; standardized
   features: 1), and no BatchNorm stands before the first layer with weights or right after it
   (one right after it makes that layer's output, and its weights' steps, independent of the scale).
3. **Training accuracy stayed near chance**: its best over the run is within 0.05 of always
   answering the most common class, after at least 5 epochs and 20 optimizer steps. When
   check 1 or 2 already explains the run, this one stays quiet.

Measured on the bundled 20x20 digits (4000 to train, batches of 1000, 100 epochs, seed 0), the
seed's network without BatchNorm: ``SGD(learning_rate=1e6)`` ends at loss 4.5e5 and accuracy
0.097 (check 1); pixels 0..255 end at accuracy 0.105 (check 2); a softmax as the hidden
activation ends at 0.105 (check 3, which names that layer). The same runs with the seed's
BatchNorm, and the healthy runs, end above 0.99 and raise no warning.
"""

import math
import warnings

import numpy as np

from ..layers import compat
from ..layers.activations import Activation, Softmax
from ..layers.batchnorm import BatchNorm

GROWTH = 100            # check 1: loss at least this many times the reference
SCALE = (0.01, 10.0)    # check 2: root mean square of X outside this range
CHANCE_MARGIN = 0.05    # check 3: best accuracy within this of always answering the most common class
MIN_EPOCHS, MIN_STEPS = 5, 20


class TrainingWarning(UserWarning):
    """Training ran without errors but went nowhere; the message names the likely cause.

    Silence it like any warning: ``warnings.simplefilter("ignore", deeplearner.TrainingWarning)``.
    """


def check_run(model, X, T, history, batch_size):
    """Warn (`TrainingWarning`) when the run that produced ``history`` went nowhere; see the module."""
    losses = history["loss"]
    if not losses:
        return
    classifier = model.classes_ is not None
    accuracy = f" (training accuracy {history['accuracy'][-1]:.3f})" if classifier else ""
    rate = _learning_rate(model)
    found = False

    reference, of_what = losses[0], "its first epoch's"
    if classifier and getattr(model.loss, "takes_logits", False):
        reference, of_what = math.log(T.shape[1]), "the loss of a model that guesses every class equally"
    if math.isfinite(losses[-1]) and reference > 0 and losses[-1] >= GROWTH * reference:
        found = True
        warnings.warn(
            f"Training went nowhere: the training loss ended at {losses[-1]:.3g}, {losses[-1] / reference:,.0f} "
            f"times {reference:.3g}, {of_what}{accuracy}. Steps this large mean the learning rate is far too "
            f"high ({rate}): lower it, e.g. 100 times (SGD usually works with 0.01 to 0.1, Adam with 0.001).",
            TrainingWarning, stacklevel=4)   # 4: the warning points at the user's call of fit

    rms = math.sqrt(float(np.vdot(X, X)) / X.size)   # root mean square of every value in X, one pass
    if not SCALE[0] <= rms <= SCALE[1] and not _normalized_early(model.layers):
        found = True
        factor = f"about {rms:.0f} times larger" if rms > 1 else f"about {1 / rms:.0f} times smaller"
        warnings.warn(
            f"The input features are far from unit scale: their root mean square is {rms:.3g} (X ranges from "
            f"{X.min():.3g} to {X.max():.3g}), and no BatchNorm normalizes them before or right after the first "
            f"layer with weights, so that layer's outputs, and the steps on its weights, are {factor} than its "
            f"initialization and the learning rate assume{accuracy}. "
            f"Scale the input, e.g. X / 255 for pixels, or (X - mean) / std with the training data's mean and "
            f"std (for the validation and test data too); or add BatchNorm() right after the first layer.",
            TrainingWarning, stacklevel=4)

    steps = len(losses) * math.ceil(len(X) / batch_size)
    if found or not classifier or len(losses) < MIN_EPOCHS or steps < MIN_STEPS:
        return
    chance = float(T.mean(axis=0).max())   # always answering the most common class
    best = max(history["accuracy"])
    if best < chance + CHANCE_MARGIN:
        warnings.warn(
            f"Training accuracy stayed near chance: at best {best:.3f} in {len(losses)} epochs, where always "
            f"answering the most common class scores {chance:.3f}. {_likely_cause(model, rate)}",
            TrainingWarning, stacklevel=4)


def _likely_cause(model, rate):
    for position, layer in enumerate(model.layers[:-1]):
        if isinstance(layer, Activation) and isinstance(layer.fn, Softmax):
            return (f"Layer {position} applies softmax as a hidden activation: it squeezes the layer's outputs "
                    f"into probabilities that sum to 1, so each is tiny and the signal fades layer by layer. "
                    f"Use Activation('relu') there; softmax belongs only at the output.")
    return (f"The learning rate ({rate}) may be far too high or too low: try it 10 times smaller and 10 times "
            f"larger. Also check that y holds the labels of the rows of X, in the same order.")


def _normalized_early(layers):
    """True if a BatchNorm stands before the first layer with weights, or right after it."""
    first = next((i for i, layer in enumerate(layers) if compat.params_of(layer)), len(layers))
    # A seed-style BatchNorm (the seed's BathNorm) has no params of its own: known by its name.
    return any(isinstance(layer, BatchNorm) or "norm" in compat.layer_name(layer).lower()
               for layer in layers[:first + 2])


def _learning_rate(model):
    rate = getattr(model.optimizer, "learning_rate", None)
    return f"{type(model.optimizer).__name__} learning_rate={rate:g}" if rate is not None else "its value"
