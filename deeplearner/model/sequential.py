"""Sequential: a stack of layers trained by one optimizer on one loss."""

import html
import math
import numbers
import warnings

import numpy as np

from ..layers import compat
from ..layers.activations import Activation, Softmax
from ..layers.base import ShapeError, as_layer_shape, as_tuple
from ..parallel import check_threads, workers
from ..regularizers import total_penalty
from ..safeguards.diagnostics import TrainingWarning
from ..safeguards.first_step import FirstStepChecks
from ..saving.model_file import save_model
from ..validation import (channels_last_hint, check_input_shape, check_positive_int, check_X, check_y, keywords_of,
                          refuse_unknown_keywords)
from .step import forward, forward_backward
from .summary import count_params, summary_html, summary_text
from .targets import encode
from .training import train


class Sequential:
    """A feed-forward network: the output of each layer is the input of the next.

    Parameters
    ----------
    layers : list of Layer
        Built here, in order: each layer learns its input shape from the one before.
    optimizer : Optimizer
        Changes the parameters after each batch, e.g. ``SGD(learning_rate=0.1, momentum=0.9)``.
    loss : Loss
        ``CrossEntropyForSoftMax()`` (last layer ``Activation("softmax")``) or ``MeanSquaredError()``.
        The layers, the optimizer and the loss are all required, at once: there is no Keras-style
        ``add`` or ``compile`` (the arguments of Keras's ``compile`` go here).
    input_shape : int or tuple of int
        The shape of one sample, without the batch axis: an int for flat rows (the number of
        features, as the seed passes ``X.shape[1]``), or ``(channels, height, width)`` for
        images, channels first: ``input_shape=(1, 20, 20)`` takes X of shape (n, 1, 20, 20).
        The seed notebook's ``input_dim=`` is accepted as another name for it.
    seed : int or None
        Seeds the model's one random generator, ``rng``: weight initialization, Dropout masks and
        the shuffling in ``fit`` all draw from it, so one seed fixes the whole run (to the last
        bit with a fixed ``threads`` in ``fit``, to rounding with the automatic choice).
    dtype : np.float64 or np.float32
        Every parameter and activation has this dtype.

    Attributes
    ----------
    classes_ : ndarray of shape (n_out,) or None
        The label each output unit stands for, learned by the first ``fit``; None for regression.
    history_ : dict of str -> list of float
        Per-epoch metrics of the last ``fit`` (the same dict ``fit`` returns).
    body : list of Layer
        The layers a training step runs: all of them, but the final softmax when the loss takes
        the logits (``CrossEntropyForSoftMax`` fuses the two: dL/dZ = (P - T) / batch).
    penalized : list of Layer
        The layers with a ``penalty()`` (Dense and Conv2D, which may have a kernel_regularizer):
        the loss adds up their penalties.
    checked : bool
        Whether a first training step has checked what every layer returns
        (deeplearner/safeguards/first_step.py); until then each step checks.
    """

    predict_batchsize = 8192   # rows per chunk in evaluate/predict: bounded memory on any input size

    def __init__(self, layers=None, optimizer=None, loss=None, input_shape=None, seed=None, dtype=np.float64, *,
                 input_dim=None, **unknown):
        if unknown:
            refuse_unknown_keywords("Sequential", unknown, keywords_of(Sequential.__init__))
        missing = [name for name, value in (("layers", layers), ("optimizer", optimizer), ("loss", loss))
                   if value is None]
        if missing:   # None is each one's default only so that this message can say what to pass
            raise TypeError(f"Sequential() needs its layers, optimizer and loss at once, missing: "
                            f"{', '.join(missing)}. Write Sequential(layers, optimizer, loss, input_shape=...), "
                            f"e.g. Sequential([Dense(10), Activation('softmax')], SGD(learning_rate=0.1), "
                            f"CrossEntropyForSoftMax(), input_shape=400). deeplearner has no compile() step: the "
                            f"optimizer and loss you would pass to Keras's compile go here.")
        self.layers = _check_layers(layers)
        for role, obj, methods, example in (("optimizer", optimizer, ("step",), "SGD(learning_rate=0.1)"),
                                            ("loss", loss, ("forward", "backward"), "CrossEntropyForSoftMax()")):
            if isinstance(obj, type):
                raise TypeError(f"Sequential: {role}={obj.__name__} is a class; pass an instance, e.g. {example}.")
            if not all(callable(getattr(obj, method, None)) for method in methods):
                raise TypeError(f"Sequential: {role}={obj!r} does not look like a deeplearner {role}. "
                                f"Pass e.g. {example}.")
        if (input_shape is None) == (input_dim is None):
            raise TypeError("Sequential: pass the shape of one sample once, as input_shape (e.g. input_shape=400 "
                            "for rows of 400 features, input_shape=(1, 20, 20) for images) or as input_dim=400"
                            + (", not both." if input_shape is not None else "."))
        self.input_shape = check_input_shape(input_shape if input_dim is None else input_dim,
                                             "input_shape" if input_dim is None else "input_dim")
        try:
            self.dtype = np.dtype(dtype)
        except TypeError:
            self.dtype = None
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"Sequential: dtype must be np.float32 or np.float64, received dtype={dtype!r}.")
        try:
            self.rng = np.random.default_rng(seed)
        except (TypeError, ValueError):
            raise ValueError(f"Sequential: seed must be None or a non-negative integer, received seed={seed!r}. "
                             f"Example: seed=42.") from None
        self.optimizer, self.loss, self.seed = optimizer, loss, seed
        self.classes_ = None
        self.history_ = None
        self.checked = False
        self._build()

    @property
    def input_dim(self):
        """The shape of one sample as layers see it: an int for flat rows, a tuple for images."""
        return as_layer_shape(self.input_shape)

    def __getattr__(self, name):
        """Reached only for an attribute the model lacks: Keras's ``compile``, ``add``, ... say what to do here."""
        raise AttributeError(KERAS_MODEL_METHODS.get(name, f"'Sequential' object has no attribute {name!r}"))

    def _build(self):
        """Give each layer its input shape, in order; record the shapes (as tuples) for the summary."""
        self.input_shapes, self.output_shapes = [], []
        shape = self.input_shape
        for i, layer in enumerate(self.layers):
            try:
                compat.build(layer, as_layer_shape(shape), self.rng, self.dtype, self.optimizer, self.loss)
            except ShapeError as error:   # (20, 20, 1) fails as 20 channels of 20x1 images: say channels first
                raise ShapeError(f"Sequential: layer {i} ({compat.layer_name(layer)}) received samples of shape "
                                 f"{shape}: {error}{channels_last_hint(self.input_shape)}") from None
            self.input_shapes.append(shape)
            shape = as_tuple(layer.outputshape())
            self.output_shapes.append(shape)
        if len(shape) != 1:
            raise ShapeError(f"Sequential: the last layer ({compat.layer_name(self.layers[-1])}) gives samples of "
                             f"shape {shape}, but a loss compares flat rows. Add Flatten() and a Dense layer "
                             f"before the output, e.g. Flatten(), Dense(10), Activation('softmax').")
        self.n_outputs = shape[0]

        # With a fused loss the model trains on the logits: it runs every layer but the final
        # softmax, and back-propagation starts from the loss's dL/dZ = (P - T) / batch.
        self.body = self.layers
        self.penalized = [layer for layer in self.layers if callable(getattr(layer, "penalty", None))]
        if getattr(self.loss, "takes_logits", False):
            last = self.layers[-1]
            if not (isinstance(last, Activation) and isinstance(last.fn, Softmax)):
                raise ValueError(f"Sequential: {type(self.loss).__name__} needs Activation('softmax') as the "
                                 f"last layer, received {getattr(last, 'name', type(last).__name__)}. Add "
                                 f"Activation('softmax') at the end, or use MeanSquaredError.")
            if self.n_outputs < 2:
                raise ValueError(f"Sequential: {type(self.loss).__name__} needs at least 2 output units, the "
                                 f"model has {self.n_outputs}. Use Dense(n_classes) before the softmax.")
            self.body = self.layers[:-1]

        # Nothing reads the gradient for the data, so the first layer may skip computing it
        # (for Dense: one GEMM less per step). gradcheck turns it back on to check it. Every
        # other layer must compute it, even one that was first in a model built before.
        for position, layer in enumerate(self.layers):
            if hasattr(layer, "needs_input_grad"):
                layer.needs_input_grad = position > 0

    # ---------------------------------------------------------------- one step of training
    def parameters(self):
        """The trainable arrays and their gradients, as two dicts keyed "layer_index.name".

        What the optimizer receives: ``optimizer.step(*model.parameters())``. A frozen layer's
        (``trainable = False``) are left out.
        """
        params, grads = {}, {}
        for i, layer in enumerate(self.layers):
            if compat.is_trainable(layer):
                for name, value in compat.params_of(layer).items():
                    params[f"{i}.{name}"] = value
                    grads[f"{i}.{name}"] = layer.grads[name]
        return params, grads

    def gradients(self, X, T, split=None):
        """Forward in training mode, loss, backward on one batch: ``(loss, output, dX)``; no step.

        The one training step (step.py), for the model: every layer's ``grads`` is filled. X is
        checked and T encoded already (``compute_gradients`` takes labels). The first call also
        checks what each layer returns (deeplearner/safeguards/first_step.py), so a layer of
        your own that returns the wrong shape is named at once; later calls skip the check.

        ``split``: None to run the batch here, or what ``deeplearner.parallel`` hands ``fit``
        to run its parts on several threads (``split.forward_backward(X, T)``, the same step).
        """
        if not self.checked:
            with FirstStepChecks(self) as watch:     # also watches the layers inside blocks (Residual)
                loss, output, dX = forward_backward(self.body, self.loss, X, T, watch=watch)
            self.checked = bool(np.isfinite(loss))   # a NaN loss skipped backward: check next time
        elif split is not None:
            loss, output, dX = split.forward_backward(X, T)
        else:
            loss, output, dX = forward_backward(self.body, self.loss, X, T)
        return loss + self.penalty(), output, dX

    def penalty(self):
        """The layers' weight penalties (``kernel_regularizer``), a float added to the loss; 0.0 without any.

        Their gradients are added by each layer's backward. ``fit``'s ``loss`` and ``val_loss``
        include the penalty, as Keras's do (deeplearner/regularizers.py).
        """
        # Only layers that can have a penalty (found once, in _build): no per-step lookups on the others.
        return total_penalty(self.penalized) if self.penalized else 0.0

    def train_step(self, X, T, split=None):
        """One optimizer step on one batch: ``gradients``, then the optimizer. Returns ``(loss, output)``.

        What ``fit`` runs for every batch. When the loss is not finite nothing is changed, and
        ``fit`` decides what to do. ``split`` as in ``gradients``.
        """
        loss, output, _ = self.gradients(X, T, split)
        if np.isfinite(loss):
            self.optimizer.step(*self.parameters())
        return loss, output

    def compute_loss(self, X, y, training=True):
        """The loss on (X, y) as one batch, in training mode by default; no parameter changes.

        In training mode BatchNorm uses (and moves its running statistics with) the batch's own
        statistics and Dropout draws masks, exactly as a step of ``fit`` would. ``gradcheck``
        differentiates this function numerically.
        """
        X, T, _ = self._check_data(X, y, learn=True)
        return self.loss.forward(forward(self.body, X, training), T) + self.penalty()

    def compute_gradients(self, X, y):
        """Forward in training mode, loss, backward: return ``(loss, dX)`` and fill every layer's grads.

        The gradients are those a step of ``fit`` would hand the optimizer, which is not called.
        dX (of X's shape) is None when the first layer skips it (``needs_input_grad`` is False).
        """
        X, T, _ = self._check_data(X, y, learn=True)
        loss, _, dX = self.gradients(X, T)
        return loss, dX

    def train_on_batch(self, X, y):
        """Run one optimizer step on the batch (X, y) and return its loss (before the step).

        X : array-like of shape (batch, *input_shape); y : labels of shape (batch,) or (batch, 1),
        or targets of shape (batch, n_out).
        """
        X, T, classes = self._check_data(X, y, learn=True)
        self._check_batchnorm_batches(len(X), len(X))
        self.classes_ = classes
        loss, _ = self.train_step(X, T)
        return loss

    def _check_batchnorm_batches(self, n_samples, batch_size):
        """Refuse up front a batch smaller than a layer's ``min_training_batch``.

        BatchNorm on flat rows needs 2 samples to estimate a variance; on images one sample
        already has height * width values per channel, so its minimum is 1.
        """
        smallest = min(n_samples, batch_size)
        for i, layer in enumerate(self.layers):
            need = getattr(layer, "min_training_batch", 1)
            if smallest < need:
                problem = (f"received {n_samples} training sample in X. Pass at least {need} samples"
                           if n_samples < need else
                           f"received batch_size={batch_size}. Use batch_size={need} or more (32 is usual)")
                raise ValueError(f"{compat.layer_name(layer)} (layer {i}) needs at least {need} samples per batch "
                                 f"in training, {problem}, or remove it.")

    # ---------------------------------------------------------------- data in, labels out
    def _check_data(self, X, y, learn=False, X_name="X", y_name="y", convert=True, classes=None):
        """Check (X, y) and encode y; return ``(X, T, classes)``, classes learned if ``learn``.

        ``self.classes_`` is not changed here: the caller keeps the classes once all its checks pass.
        """
        X = check_X(X, self.input_shape, self.dtype, name=X_name, convert=convert)
        y = check_y(y, len(X), name=y_name, X_name=X_name)
        return (X, *encode(y, self.n_outputs, self.classes_ if classes is None else classes, learn,
                           getattr(self.loss, "takes_logits", False), self.dtype, name=y_name))

    def _chunks(self, X):
        """Yield (slice, chunk) over the rows of X, ``predict_batchsize`` rows at a time.

        Each chunk is cast to the model's dtype on its own (no copy when it already is).
        """
        for start in range(0, len(X), self.predict_batchsize):
            rows = slice(start, start + self.predict_batchsize)
            yield rows, X[rows].astype(self.dtype, copy=False)

    def _inference(self, X, threads):
        """The threads for evaluate or predict on X (deeplearner/parallel/workers.py)."""
        units = -(-len(X) // self.predict_batchsize)                     # chunks: ceil(n / predict_batchsize)
        return workers(self, threads, ("inference", min(len(X), self.predict_batchsize)), units)

    def infer(self, X, layers=None, split=None):
        """X : (batch, *input_shape) -> the output of ``layers`` (all, unless given) in inference mode.

        ``layers`` must be the model's first few (``model.body`` for the logits). ``split`` as in
        ``gradients``: what ``deeplearner.parallel`` hands a call to run the batch in parts.
        """
        layers = self.layers if layers is None else layers
        if split is not None:
            return split.forward(X, len(layers))
        return forward(layers, X, False)

    def predict_proba(self, X, threads=None):
        """X : array-like of shape (n, *input_shape) -> ndarray of shape (n, n_out), inference mode.

        With a softmax output, row i holds the probability of each class ``classes_[k]``: what
        Keras's ``predict`` returns (deeplearner's ``predict`` returns the labels).
        ``threads``: how many threads, None to leave them to deeplearner (see ``fit``).
        """
        threads = check_threads(threads, "predict_proba")
        X = check_X(X, self.input_shape, self.dtype, convert=False)
        Y = np.empty((len(X), self.n_outputs), dtype=self.dtype)
        with self._inference(X, threads) as team:
            for rows, chunk in self._chunks(X):
                team.begin()
                Y[rows] = self.infer(chunk, split=team.split)
                team.end(len(chunk))
        return Y

    def predict(self, X, threads=None):
        """X : array-like of shape (n, *input_shape) -> labels of shape (n,) from ``classes_``, not probabilities.

        Unlike Keras's ``predict``, which returns the probabilities, this returns the label of the
        most probable class, as scikit-learn's does: Keras's ``np.argmax(model.predict(X), axis=1)``
        is ``model.predict(X)`` here, and Keras's ``model.predict(X)`` is ``model.predict_proba(X)``.
        For a regression model (no ``classes_``) this is the raw output, shape (n, n_out).
        """
        Y = self.predict_proba(X, check_threads(threads, "predict"))
        if self.classes_ is None:
            if self.n_outputs > 1 and getattr(self.loss, "takes_logits", False):
                raise ValueError("This model has not learned its classes yet: call fit before predict, "
                                 "or use predict_proba for the raw probabilities.")
            return Y
        # Units beyond len(classes_) stand for no label (fit saw fewer labels than units).
        return self.classes_[np.argmax(Y[:, :len(self.classes_)], axis=1)]

    def evaluate(self, X, y, threads=None):
        """Return ``(loss, accuracy)`` on (X, y) in inference mode (accuracy is nan for regression).

        ``threads``: how many threads, None to leave them to deeplearner (see ``fit``).
        """
        threads = check_threads(threads, "evaluate")
        X, T, _ = self._check_data(X, y, convert=False)
        with self._inference(X, threads) as team:
            return self.loss_and_accuracy(X, T, team.split, team)

    def loss_and_accuracy(self, X, T, split=None, timer=None):
        """``(loss, accuracy)`` on checked X and encoded targets T, in inference mode: evaluate's numbers.

        ``fit`` calls it on the validation data after every epoch. ``split`` as in ``gradients``;
        ``timer``, if given, has ``begin()`` and ``end(rows)`` called around each chunk
        (deeplearner/parallel/workers.py times them to choose the thread count).
        """
        total_loss, correct = 0.0, 0
        for rows, chunk in self._chunks(X):
            if timer is not None:
                timer.begin()
            output = self.infer(chunk, self.body, split)
            total_loss += self.loss.forward(output, T[rows]) * len(chunk)
            correct += self.count_correct(output, T[rows])
            if timer is not None:
                timer.end(len(chunk))
        accuracy = correct / len(X) if self.classes_ is not None else float("nan")
        return total_loss / len(X) + self.penalty(), accuracy

    def count_correct(self, output, T):
        """How many rows of ``output`` (the body's, shape (batch, n_out)) pick the class that T's rows mark."""
        if self.classes_ is None:
            return 0
        labeled = output[:, :len(self.classes_)]      # as predict does
        return int(np.count_nonzero(np.argmax(labeled, axis=1) == np.argmax(T, axis=1)))

    # ---------------------------------------------------------------- the training loop
    def fit(self, X, y, X_valid=None, y_valid=None, epochs=1, batchsize=None, shuffle=True, verbose=1,
            callbacks=None, threads=None, *, batch_size=None, validation_data=None, validation_split=None,
            **unknown):
        """Train for ``epochs`` passes over (X, y) and return the history.

        Parameters
        ----------
        X : array-like of shape (n, *input_shape)
            Rows of features, or images (n, channels, height, width) for an image model.
        y : labels of shape (n,) or (n, 1) (integers, strings or booleans), one-hot rows of shape
            (n, n_out), or regression targets of shape (n, n_out).
        X_valid, y_valid : optional validation data, evaluated after every epoch in inference mode.
            Keras's spelling ``validation_data=(X_valid, y_valid)`` works too.
        epochs, batch_size : positive integers; batch_size is 32 unless given.
            The seed notebook's spelling ``batchsize=`` works too. When n is not a multiple of batch_size the
            last batch is smaller; a last batch of a single sample is merged into the one before
            (BatchNorm needs two samples), so every sample is used once per epoch.
        shuffle : bool
            Reshuffle the rows every epoch with the model's generator.
        verbose : 0, 1 or 2
            Silent; progress bar and about ten log lines; one log line per epoch.
        callbacks : list of Callback, optional
            For example ``[EarlyStopping(patience=5)]``.
        threads : int or None
            How many threads to use: for NumPy's BLAS, or for a convolutional network as many
            parts of each batch, each on its own thread with BLAS on one (see
            ``deeplearner/parallel/``). None (the default) chooses by timing: a
            few batches at each candidate (1 and the count in force, more on big machines),
            then the fastest, probed again now and then and as soon as batches slow down, so a
            busy shared machine does not make training several times slower. An int fixes it;
            a fixed count also makes reruns of one seed bit-identical (OpenBLAS's results
            differ in the last bits between counts). Either way the process's thread
            settings are restored when fit returns or raises. See ``deeplearner/parallel/threads.py``.
        validation_split : float in (0, 1), optional
            Keep the last fraction of the rows of (X, y) for validation instead of passing
            validation data, as Keras does: the rows are split as given, before any shuffling, so
            ``validation_split=0.2`` on 5000 rows trains on the first 4000 (``floor(n (1 - split))``)
            and validates on the last 1000. Shuffle first if the rows are sorted, e.g. by label
            (fit warns when they are, see Warns). 0, Keras's default, means no split.

        Returns
        -------
        history : History, a dict of str -> list of float
            ``loss`` and ``accuracy`` per epoch, the means over that epoch's batches in training
            mode (as Keras reports them, at no extra cost); with validation data, ``val_loss`` and
            ``val_accuracy`` measured after the epoch. Also kept as ``history_``.

        Raises
        ------
        TrainingDivergedError
            When a batch's loss, or the weights after an epoch, are NaN or infinite. The model is
            first rolled back to the weights that produced the last finite loss, so it still
            predicts finite numbers, and the optimizer's state (momentum) is reset; ``history_``
            keeps the finished epochs.
        TypeError
            For a keyword fit does not know; the message names the closest one it does.

        Warns
        -----
        TrainingWarning
            When the run went nowhere: accuracy near chance, a loss that grew by orders of
            magnitude, or unscaled input (deeplearner/safeguards/diagnostics.py); the message names the likely cause.
            Before training, a classifier's validation data (``X_valid, y_valid`` or ``validation_split``)
            is checked against its training labels, and fit warns, naming the classes, when

            - the validation labels hold a class that the training labels never do: the model cannot
              learn it, and every validation sample of it counts as wrong; or
            - they hold none of a class that a random split of these sizes would have put there at
              least 5 times (its training count times n_valid / n_train >= 5): the validation
              score then says nothing about that class. A small validation set that misses a
              rare class by chance is no warning.

            Both happen when sorted rows are split without shuffling, as ``validation_split=0.2``
            does with ``load_mnist20()``, whose last fifth is all 8s and 9s. The message suggests
            shuffling, or ``sklearn.model_selection.train_test_split(X, y, stratify=y)``.

        Notes
        -----
        Ctrl-C stops training after the current batch and returns the history of the finished
        epochs; the model keeps its weights. Calling fit again continues from there. The
        loop itself is in training.py. Choosing threads costs a few batches at a slower count
        when fit starts and at most about 1/20 of the time after that.
        """
        refuse_unknown_keywords("fit", unknown, FIT_KEYWORDS)   # fit(epoch=5): "Did you mean epochs=?"
        batch_size, batch_size_name = _one_spelling("batch_size", batch_size, "batchsize", batchsize, default=32)
        if validation_data is not None:
            if X_valid is not None or y_valid is not None:
                raise ValueError("fit: validation data was passed twice, as X_valid/y_valid and as validation_data. "
                                 "Pass it once: fit(X, y, X_valid, y_valid) or fit(X, y, validation_data=(X_valid, "
                                 "y_valid)).")
            X_valid, y_valid = _unpack_validation_data(validation_data)
        if validation_split is not None and validation_split != 0:   # 0: no split, Keras's default
            validation_split = _check_split(validation_split, X_valid is not None)
        else:
            validation_split = None
        epochs = check_positive_int(epochs, "epochs", example=10)
        threads = check_threads(threads, "fit")
        batch_size = check_positive_int(batch_size, batch_size_name, example=32)
        if verbose not in (0, 1, 2):
            raise ValueError(f"fit: verbose must be 0, 1 or 2, received verbose={verbose!r}.")
        if (X_valid is None) != (y_valid is None):
            raise ValueError("fit: pass both X_valid and y_valid, or neither.")
        callbacks = _check_callbacks(callbacks)
        X, T, classes = self._check_data(X, y, learn=True)
        validation = None
        if validation_split is not None:
            X, T, validation = _split_off_last(X, T, validation_split)
        self._check_batchnorm_batches(len(X), batch_size)
        if X_valid is not None:
            X_valid, T_valid, _ = self._check_data(X_valid, y_valid, X_name="X_valid", y_name="y_valid",
                                                   classes=classes)
            validation = (X_valid, T_valid)
        if validation is not None and classes is not None:
            _check_classes_on_both_sides(T, validation[1], classes, validation_split)
        self.classes_ = classes          # learned from y, kept now that every check has passed
        try:
            with workers(self, threads, ("fit", min(batch_size, len(X)))) as team:
                return train(self, X, T, validation, epochs, batch_size, shuffle, verbose, callbacks, team)
        finally:
            self.callbacks_ = ()   # the callbacks are fit's: a model pickled or copied afterwards holds none

    def summary(self, print_fn=print):
        """Print a table of the layers with their shapes and parameter counts."""
        print_fn(summary_text(self))

    def __repr__(self):
        """``Sequential(9 layers, 46,300 parameters, input (400,), output (10,))``."""
        total, complete = count_params(self)
        counted = f"{total:,}" if complete else f"{total:,}+"   # +: seed-style weights not counted
        return (f"Sequential({len(self.layers)} layers, {counted} parameters, input {self.input_shape}, "
                f"output ({self.n_outputs},))")

    def _repr_html_(self):
        """What Jupyter shows for a model that is a cell's result: the line above, then the summary table."""
        return f"<p><code>{html.escape(repr(self))}</code></p>" + summary_html(self)

    def get_weights(self):
        """Return a list (one dict per layer) of copies of every parameter and buffer."""
        return [layer.get_weights() if callable(getattr(layer, "get_weights", None)) else {}
                for layer in self.layers]

    def set_weights(self, weights):
        """Copy weights as returned by ``get_weights`` back into the layers, in place."""
        if not isinstance(weights, (list, tuple)) or not all(isinstance(entry, dict) for entry in weights):
            raise TypeError("set_weights expects what get_weights() returns: a list with one dict per layer.")
        if len(weights) != len(self.layers):
            raise ValueError(f"set_weights expected {len(self.layers)} entries (one per layer), "
                             f"received {len(weights)}.")
        for layer, layer_weights in zip(self.layers, weights):
            if layer_weights:
                layer.set_weights(layer_weights)

    def save(self, path):
        """Write the whole model to one .npz file: architecture, weights, optimizer state, classes_.

        ``deeplearner.load_model(path)`` gives it back, ready to predict or to keep training;
        deeplearner/saving/model_file.py describes the file.
        """
        save_model(self, path)


KERAS_MODEL_METHODS = {   # what Sequential.__getattr__ answers for Keras's model methods that deeplearner has not
    "compile": "Sequential has no compile(): a model takes its optimizer and loss when it is made, "
               "Sequential(layers, optimizer, loss, input_shape=...). Keras's compile(optimizer='adam', "
               "loss='sparse_categorical_crossentropy', metrics=['accuracy']) is Sequential(layers, "
               "Adam(learning_rate=0.001), CrossEntropyForSoftMax(), input_shape=...) with Activation('softmax') as "
               "the last layer (the loss takes integer labels and one-hot rows alike; fit reports the accuracy of "
               "a classifier unasked); loss='mse' is MeanSquaredError().",
    "add": "Sequential has no add(): pass all the layers at once, Sequential([layer, layer, ...], optimizer, loss, "
           "input_shape=...). To build the list step by step, append to a plain list first: layers.append(Dense(10)).",
    "history": "Sequential keeps the last fit's history as history_ (with scikit-learn's trailing underscore for "
               "what fit learned): model.history_['loss']. fit also returns it, and its .history is itself, so "
               "Keras's history = model.fit(...); history.history['loss'] works unchanged.",
    "predict_classes": "Sequential has no predict_classes(): predict(X) returns the labels here (and "
                       "predict_proba(X) the probabilities, which Keras's predict returns).",
}


def _check_layers(layers):
    """Return ``layers`` as a list after checking each entry is a distinct layer object."""
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__") or hasattr(layers, "forward"):
        raise TypeError(f"Sequential: layers must be a list of layers, e.g. [Dense(10), Activation('softmax')], "
                        f"received {layers!r}.")
    layers = list(layers)
    if not layers:
        raise ValueError("Sequential: layers is empty. Pass a list such as [Dense(10), Activation('softmax')].")
    for i, layer in enumerate(layers):
        if isinstance(layer, type):
            raise TypeError(f"Sequential: layer {i} is the class {layer.__name__}; pass an instance, "
                            f"e.g. {layer.__name__}(...).")
        if not all(callable(getattr(layer, method, None)) for method in ("forward", "backward", "outputshape")):
            name = getattr(layer, "name", None)
            hint = (f" To use the function {name or layer!r}, wrap it: Activation({name or '...'!r})."
                    if callable(getattr(layer, "forward", None)) else " Derive it from deeplearner.Layer.")
            raise TypeError(f"Sequential: layer {i} ({layer!r}) is not a layer; a layer needs forward(X, training), "
                            f"backward(dY) and outputshape().{hint}")
    seen = {}
    for i, layer in enumerate(layers):
        if id(layer) in seen:
            # A layer keeps what its forward pass saw for its backward pass: one object in two
            # places would hand the first place the second place's input.
            raise ValueError(f"Sequential: layer {i} is the same object as layer {seen[id(layer)]} "
                             f"({compat.layer_name(layer)}). Each position needs its own "
                             f"layer: write Activation('tanh') twice instead of reusing one.")
        seen[id(layer)] = i
    return layers


def _check_callbacks(callbacks):
    hooks = ("on_train_begin", "on_epoch_begin", "on_epoch_end", "on_batch_begin", "on_batch_end",
             "on_train_end")
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"fit: callbacks must be a list, e.g. callbacks=[EarlyStopping()], "
                        f"received {callbacks!r}.")
    for callback in callbacks:
        if isinstance(callback, type) or not any(callable(getattr(callback, hook, None)) for hook in hooks):
            raise TypeError(f"fit: {callback!r} is not a callback instance: a callback defines at least one of "
                            f"{', '.join(hooks)}. Derive it from deeplearner.Callback.")
    return list(callbacks)


# ---------------------------------------------------------------- fit's keywords, Keras's spellings too
FIT_KEYWORDS = keywords_of(Sequential.fit)


def _one_spelling(name, value, other_name, other_value, default):
    """``(value, the name it came by)`` for an argument with two spellings (``batch_size``, ``batchsize``).

    ``(default, name)`` when neither is given; both at once is an error.
    """
    if value is not None and other_value is not None:
        raise ValueError(f"fit: {name}={value!r} and {other_name}={other_value!r} are two spellings of the same "
                         f"argument. Pass only one of them.")
    if other_value is not None:
        return other_value, other_name
    return (default if value is None else value), name


def _unpack_validation_data(validation_data):
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        received = (f"a {type(validation_data).__name__} of length {len(validation_data)}"
                    if isinstance(validation_data, (tuple, list)) else type(validation_data).__name__)
        raise ValueError(f"fit: validation_data must be a pair (X_valid, y_valid), received {received}. Pass "
                         f"validation_data=(X_valid, y_valid) (sample weights are not supported).")
    return validation_data


def _check_split(split, has_validation_data):
    if has_validation_data:
        raise ValueError(f"fit: validation_split={split!r} and validation data were both passed. Use one: "
                         f"the validation data, or validation_split to hold out the last rows of X and y.")
    if isinstance(split, bool) or not isinstance(split, numbers.Real) or not 0 < split < 1:
        raise ValueError(f"fit: validation_split must be a fraction between 0 and 1 (exclusive), received "
                         f"validation_split={split!r}. Example: validation_split=0.2 keeps the last 20% of "
                         f"the rows for validation.")
    return float(split)


def _check_classes_on_both_sides(T, T_valid, classes, split):
    """Warn (TrainingWarning) when the classes of T_valid and T differ, by the rule in fit's Warns."""
    n_columns = T.shape[1]
    train = np.bincount(np.argmax(T, axis=1), minlength=n_columns)          # (n_out,) rows of each class
    valid = np.bincount(np.argmax(T_valid, axis=1), minlength=n_columns)
    unseen = np.flatnonzero((valid > 0) & (train == 0))
    expected = train * len(T_valid) / len(T)                               # a random split's count per class
    absent = np.flatnonzero((train > 0) & (valid == 0) & (expected >= 5))
    if not len(unseen) and not len(absent):
        return

    def names(units):
        shown = [repr(classes[k].item()) if k < len(classes) else f"unit {k}" for k in units[:10]]
        return ", ".join(shown) + (", ..." if len(units) > 10 else "")

    if split:
        intro, rows, hold = (f"validation_split={split} validates on the last {len(T_valid)} rows as given, before "
                             f"any shuffling. ", "These rows", "hold")
    else:
        intro, rows, hold = "", f"The validation data ({len(T_valid)} samples)", "holds"
    problems = []
    if len(unseen):
        problems.append(f"the classes {names(unseen)}, which the {len(T)} training samples never hold (the model "
                        f"cannot learn them, and val_accuracy counts each such sample as wrong)")
    if len(absent):
        problems.append(f"none of the classes {names(absent)}, of which a random split would have put at least "
                        f"{int(expected[absent].min())} each there")
    found = f"{rows} {hold} {' and '.join(problems)}."
    if split:
        fix = (f"The rows look sorted by class: shuffle them first (p = np.random.default_rng(0).permutation(len(y)); "
               f"X, y = X[p], y[p]), or split with sklearn.model_selection.train_test_split(X, y, "
               f"test_size={split}, stratify=y) and pass validation_data=(X_valid, y_valid).")
    else:
        fix = ("Split so that every class is on both sides: sklearn.model_selection.train_test_split(X, y, "
               "test_size=0.2, stratify=y) keeps each class's share in both parts.")
    warnings.warn(f"fit: {intro}{found} {fix}", TrainingWarning, stacklevel=3)


def _split_off_last(X, T, split):
    """(X, T) -> (X_train, T_train, (X_valid, T_valid)): the last rows validate, as in Keras."""
    n = len(X)
    n_train = math.floor(n * (1.0 - split))   # Keras's rule: the training part is rounded down
    if n_train == 0 or n_train == n:
        raise ValueError(f"fit: validation_split={split} of {n} samples leaves {n_train} to train on and "
                         f"{n - n_train} to validate on; both need at least one. Pass more samples or "
                         f"another validation_split.")
    return X[:n_train], T[:n_train], (X[n_train:], T[n_train:])   # views: no copy
