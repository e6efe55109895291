"""Sequential: a stack of layers trained by one optimizer on one loss."""

import sys

import numpy as np

from .activations import Activation, Softmax
from .batchnorm import BatchNorm
from .progress import ProgressReporter
from .safety import DivergenceGuard, TrainingDivergedError, deferred_interrupt
from .summary import summary_text
from .targets import as_labels, is_one_hot, learn_classes, one_hot
from .validation import check_positive_int, check_X, check_y


class Sequential:
    """A feed-forward network: the output of each layer is the input of the next.

    Parameters
    ----------
    layers : list of Layer
        Built here, in order: each layer learns its input width from the one before.
    optimizer : Optimizer
        Changes the parameters after each batch, e.g. ``SGD(learning_rate=0.1, momentum=0.9)``.
    loss : Loss
        ``CrossEntropyForSoftMax()`` (last layer ``Activation("softmax")``) or ``MeanSquaredError()``.
    input_dim : int
        Number of features per sample.
    seed : int or None
        Seeds the model's one random generator, ``rng``: weight initialization, Dropout masks and
        the shuffling in ``fit`` all draw from it, so one seed fixes the whole run.
    dtype : np.float64 or np.float32
        Every parameter and activation has this dtype.

    Attributes
    ----------
    classes_ : ndarray of shape (n_out,) or None
        The label each output unit stands for, learned by the first ``fit``; None for regression.
    history_ : dict of str -> list of float
        Per-epoch metrics of the last ``fit`` (the same dict ``fit`` returns).
    """

    predict_batchsize = 8192   # rows per chunk in evaluate/predict: bounded memory on any input size

    def __init__(self, layers, optimizer, loss, input_dim, seed=None, dtype=np.float64):
        self.layers = list(layers)
        if not self.layers:
            raise ValueError("Sequential: layers is empty. Pass a list such as [Dense(10), Activation('softmax')].")
        for layer in self.layers:
            if not all(callable(getattr(layer, method, None)) for method in ("forward", "backward", "outputshape")):
                raise TypeError(f"Sequential: {layer!r} is not a layer; a layer needs forward(X, training), "
                                f"backward(dY) and outputshape(). Derive it from deeplearner.Layer.")
        for role, obj, methods in (("optimizer", optimizer, ("step",)), ("loss", loss, ("forward", "backward"))):
            if not all(callable(getattr(obj, method, None)) for method in methods):
                raise TypeError(f"Sequential: {role}={obj!r} does not look like a deeplearner {role}. "
                                f"Pass e.g. SGD(learning_rate=0.1) and CrossEntropyForSoftMax().")
        self.input_dim = check_positive_int(input_dim, "input_dim", owner="Sequential", example=400)
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise ValueError(f"Sequential: dtype must be np.float32 or np.float64, received dtype={dtype!r}.")
        self.optimizer, self.loss, self.seed = optimizer, loss, seed
        self.dtype = np.dtype(dtype)
        self.rng = np.random.default_rng(seed)
        self.classes_ = None
        self.history_ = None
        self._build()

    def _build(self):
        """Give each layer its input width, in order; record the widths for the summary."""
        self.input_dims, self.output_dims = [], []
        n_in = self.input_dim
        for layer in self.layers:
            if callable(getattr(layer, "build", None)):
                layer.build(n_in, self.rng, self.dtype)
            else:
                layer.inputshape = n_in
            if callable(getattr(layer, "setup", None)):
                layer.setup(self.optimizer, self.loss)   # the seed notebook's hook
            self.input_dims.append(n_in)
            n_in = layer.outputshape()
            self.output_dims.append(n_in)
        self.n_outputs = n_in

        # With a fused loss the model trains on the logits: it runs every layer but the final
        # softmax, and back-propagation starts from the loss's dL/dZ = (P - T) / batch.
        self._body = self.layers
        if getattr(self.loss, "takes_logits", False):
            last = self.layers[-1]
            if not (isinstance(last, Activation) and isinstance(last.fn, Softmax)):
                raise ValueError(f"Sequential: {type(self.loss).__name__} needs Activation('softmax') as the "
                                 f"last layer, received {getattr(last, 'name', type(last).__name__)}. Add "
                                 f"Activation('softmax') at the end, or use MeanSquaredError.")
            if self.n_outputs < 2:
                raise ValueError(f"Sequential: {type(self.loss).__name__} needs at least 2 output units, the "
                                 f"model has {self.n_outputs}. Use Dense(n_classes) before the softmax.")
            self._body = self.layers[:-1]

        # Nothing reads the gradient for the data, so the first layer may skip computing it
        # (for Dense: one GEMM less per step). gradcheck turns it back on to check it.
        if hasattr(self.layers[0], "needs_input_grad"):
            self.layers[0].needs_input_grad = False

    # ---------------------------------------------------------------- one step of training
    def _forward(self, X, training, layers):
        """X : (batch, input_dim) -> output of the last of ``layers``."""
        for layer in layers:
            X = layer.forward(X, training)
        return X

    def _parameters(self):
        """The trainable arrays and their gradients, as two dicts keyed "layer_index.name"."""
        params, grads = {}, {}
        for i, layer in enumerate(self.layers):
            if getattr(layer, "trainable", True):
                for name, value in getattr(layer, "params", {}).items():
                    params[f"{i}.{name}"] = value
                    grads[f"{i}.{name}"] = layer.grads[name]
        return params, grads

    def _train_step(self, X, T):
        """Forward, loss, backward, optimizer step. Returns (loss, output of the body)."""
        output = self._forward(X, True, self._body)
        loss = self.loss.forward(output, T)
        if not np.isfinite(loss):
            return loss, output            # fit decides what to do; nothing was changed yet
        dY = self.loss.backward()
        for layer in reversed(self._body):
            dY = layer.backward(dY)        # built-in layers fill layer.grads
        self.optimizer.step(*self._parameters())
        return loss, output

    def train_on_batch(self, X, y):
        """Run one optimizer step on the batch (X, y) and return its loss (before the step).

        X : array-like of shape (batch, input_dim); y : labels of shape (batch,) or (batch, 1),
        or targets of shape (batch, n_out).
        """
        X, T = self._check_data(X, y, learn=True)
        self._check_batchnorm_batches(len(X), len(X))
        loss, _ = self._train_step(X, T)
        return loss

    def _check_batchnorm_batches(self, n_samples, batchsize):
        """BatchNorm estimates a variance per batch: refuse up front what would give it one sample."""
        for i, layer in enumerate(self.layers):
            if isinstance(layer, BatchNorm) and min(n_samples, batchsize) < 2:
                problem = (f"received {n_samples} training sample in X. Pass at least 2 samples" if n_samples < 2
                           else f"received batchsize={batchsize}. Use batchsize=2 or more (32 is usual)")
                raise ValueError(f"BatchNorm (layer {i}) needs at least 2 samples per batch in training, "
                                 f"{problem}, or remove BatchNorm.")

    # ---------------------------------------------------------------- data in, labels out
    def _check_data(self, X, y, learn=False, X_name="X", y_name="y", convert=True):
        X = check_X(X, self.input_dim, self.dtype, name=X_name, convert=convert)
        return X, self._targets(check_y(y, len(X), name=y_name, X_name=X_name), learn, y_name)

    def _targets(self, y, learn, name="y"):
        """y (labels or target rows) -> T : ndarray of shape (n, n_out) in the model's dtype."""
        n_out = self.n_outputs
        if y.ndim == 2 and y.shape[1] == n_out and n_out > 1:
            if learn and self.classes_ is None and (is_one_hot(y, n_out) or self.loss.takes_logits):
                self.classes_ = np.arange(n_out)
            return y.astype(self.dtype)
        if y.ndim == 2 and y.shape[1] != 1:
            raise ValueError(f"{name} has shape {y.shape}, but the model has {n_out} outputs. Pass labels of "
                             f"shape (n_samples,) or targets of shape (n_samples, {n_out}).")
        labels = as_labels(y)
        if n_out == 1:   # one output unit: a regression target per sample
            return labels.reshape(-1, 1).astype(self.dtype)
        if self.classes_ is None:
            if not learn:
                raise ValueError("This model has not learned its classes yet: call fit (or train_on_batch) "
                                 "before evaluate or predict.")
            self.classes_ = learn_classes(labels, n_out, name)
        return one_hot(labels, self.classes_, self.dtype, n_columns=n_out, name=name)

    def _chunks(self, X):
        """Yield (slice, chunk) over the rows of X, ``predict_batchsize`` rows at a time.

        Each chunk is cast to the model's dtype on its own (no copy when it already is).
        """
        for start in range(0, len(X), self.predict_batchsize):
            rows = slice(start, start + self.predict_batchsize)
            yield rows, X[rows].astype(self.dtype, copy=False)

    def predict_proba(self, X):
        """X : array-like of shape (n, input_dim) -> ndarray of shape (n, n_out), inference mode.

        With a softmax output, row i holds the probability of each class ``classes_[k]``.
        """
        X = check_X(X, self.input_dim, self.dtype, convert=False)
        Y = np.empty((len(X), self.n_outputs), dtype=self.dtype)
        for rows, chunk in self._chunks(X):
            Y[rows] = self._forward(chunk, False, self.layers)
        return Y

    def predict(self, X):
        """X : array-like of shape (n, input_dim) -> labels of shape (n,) from ``classes_``.

        For a regression model (no ``classes_``) this is the raw output, shape (n, n_out).
        """
        Y = self.predict_proba(X)
        if self.classes_ is None:
            if self.n_outputs > 1 and getattr(self.loss, "takes_logits", False):
                raise ValueError("This model has not learned its classes yet: call fit before predict, "
                                 "or use predict_proba for the raw probabilities.")
            return Y
        # Units beyond len(classes_) stand for no label (fit saw fewer labels than units).
        return self.classes_[np.argmax(Y[:, :len(self.classes_)], axis=1)]

    def evaluate(self, X, y):
        """Return ``(loss, accuracy)`` on (X, y) in inference mode (accuracy is nan for regression)."""
        X, T = self._check_data(X, y, convert=False)
        return self._evaluate(X, T)

    def _evaluate(self, X, T):
        total_loss, correct = 0.0, 0
        body = self._body
        for rows, chunk in self._chunks(X):
            output = self._forward(chunk, False, body)
            total_loss += self.loss.forward(output, T[rows]) * len(chunk)
            correct += self._n_correct(output, T[rows])
        accuracy = correct / len(X) if self.classes_ is not None else float("nan")
        return total_loss / len(X), accuracy

    def _n_correct(self, output, T):
        if self.classes_ is None:
            return 0
        labeled = output[:, :len(self.classes_)]      # as predict does
        return int(np.count_nonzero(np.argmax(labeled, axis=1) == np.argmax(T, axis=1)))

    # ---------------------------------------------------------------- the training loop
    def _batches(self, n, batchsize, shuffle):
        """Yield index arrays (shuffled) or slices (in order) covering all n rows once.

        A last batch of a single sample is merged into the batch before it, so BatchNorm always
        sees at least two samples and no sample is skipped.
        """
        order = self.rng.permutation(n) if shuffle else None
        starts = list(range(0, n, batchsize))
        if len(starts) > 1 and n - starts[-1] == 1:
            starts.pop()
        ends = starts[1:] + [n]
        for start, end in zip(starts, ends):
            yield order[start:end] if shuffle else slice(start, end)

    def fit(self, X, y, X_valid=None, y_valid=None, epochs=1, batchsize=32, shuffle=True, verbose=1,
            callbacks=None):
        """Train for ``epochs`` passes over (X, y) and return the history.

        Parameters
        ----------
        X : array-like of shape (n, input_dim)
        y : labels of shape (n,) or (n, 1) (integers or strings), one-hot rows of shape
            (n, n_out), or regression targets of shape (n, n_out).
        X_valid, y_valid : optional validation data, evaluated after every epoch in inference mode.
        epochs, batchsize : positive integers.
        shuffle : bool
            Reshuffle the rows every epoch with the model's generator.
        verbose : 0, 1 or 2
            Silent; progress bar and about ten log lines; one log line per epoch.
        callbacks : list of Callback, optional
            For example ``[EarlyStopping(patience=5)]``.

        Returns
        -------
        history : dict of str -> list of float
            ``loss`` and ``accuracy`` per epoch, the means over that epoch's batches in training
            mode (as Keras reports them, at no extra cost); with validation data, ``val_loss`` and
            ``val_accuracy`` measured after the epoch. Also kept as ``history_``.

        Raises
        ------
        TrainingDivergedError
            When a batch's loss is NaN or infinite. The model is first rolled back to the weights
            that produced the last finite loss, so it still predicts finite numbers, and the
            optimizer's state (momentum) is reset; ``history_`` keeps the finished epochs.

        Notes
        -----
        Ctrl-C stops training after the current batch and returns the history of the finished
        epochs; the model keeps its weights. Calling fit again continues from there.
        """
        epochs = check_positive_int(epochs, "epochs", example=10)
        batchsize = check_positive_int(batchsize, "batchsize", example=32)
        if verbose not in (0, 1, 2):
            raise ValueError(f"fit: verbose must be 0, 1 or 2, received verbose={verbose!r}.")
        if (X_valid is None) != (y_valid is None):
            raise ValueError("fit: pass both X_valid and y_valid, or neither.")
        X, T = self._check_data(X, y, learn=True)
        self._check_batchnorm_batches(len(X), batchsize)
        validation = None
        if X_valid is not None:
            validation = self._check_data(X_valid, y_valid, X_name="X_valid", y_name="y_valid")
        callbacks = list(callbacks or [])

        history = {"loss": [], "accuracy": []}
        if validation is not None:
            history.update(val_loss=[], val_accuracy=[])
        self.history_ = history
        self.stop_training = False
        guard = DivergenceGuard(self.layers)
        reporter = ProgressReporter(epochs, verbose)
        for callback in callbacks:
            callback.on_train_begin(self)
        try:
            with deferred_interrupt() as interrupt:
                for epoch in range(1, epochs + 1):
                    loss, accuracy = self._run_epoch(X, T, batchsize, shuffle, guard, interrupt, epoch)
                    if interrupt.requested:
                        break   # a partial epoch is not recorded: its numbers would mislead
                    history["loss"].append(loss)
                    history["accuracy"].append(accuracy)
                    if validation is not None:
                        val_loss, val_accuracy = self._evaluate(*validation)
                        history["val_loss"].append(val_loss)
                        history["val_accuracy"].append(val_accuracy)
                    logs = {key: values[-1] for key, values in history.items()}
                    reporter.epoch_end(epoch, logs)
                    for callback in callbacks:
                        callback.on_epoch_end(self, epoch, logs)
                    if self.stop_training:
                        break
        except KeyboardInterrupt:       # a second Ctrl-C, or one outside the main thread
            guard.restore()             # a step may have been cut in half: go back to a whole one
            interrupt.requested = True
        finally:
            reporter.close()
        if interrupt.requested:
            print(f"Training interrupted by Ctrl-C during epoch {len(history['loss']) + 1}/{epochs}: the "
                  f"model keeps its weights and the history of the {len(history['loss'])} finished epochs.",
                  file=sys.stderr)
        for callback in callbacks:
            callback.on_train_end(self)
            message = callback.describe() if callable(getattr(callback, "describe", None)) else None
            if message and verbose:
                print(message)
        return history

    def _run_epoch(self, X, T, batchsize, shuffle, guard, interrupt, epoch):
        """One pass over (X, T); returns the mean loss and the accuracy over its batches."""
        total_loss, correct, seen = 0.0, 0, 0
        if shuffle:
            # Each shuffled batch is gathered into these two arrays, reused across the epoch's
            # batches: X[rows] would allocate fresh memory every batch (3.2 MB for 1000 x 400 in
            # float64), and fresh memory costs page faults, 18% of a float64 epoch here.
            rows_max = min(batchsize + 1, len(X))   # + 1: a last single row joins the batch before
            X_buffer = np.empty((rows_max, X.shape[1]), dtype=X.dtype)
            T_buffer = np.empty((rows_max, T.shape[1]), dtype=T.dtype)
        for number, rows in enumerate(self._batches(len(X), batchsize, shuffle), start=1):
            guard.capture()
            if shuffle:
                # X[rows] into the buffer; mode="clip" skips a bounds check that would copy
                # through a temporary (rows is a permutation, always in range).
                X_batch = np.take(X, rows, axis=0, out=X_buffer[:len(rows)], mode="clip")
                T_batch = np.take(T, rows, axis=0, out=T_buffer[:len(rows)], mode="clip")
            else:
                X_batch, T_batch = X[rows], T[rows]   # slices: views, no copy
            loss, output = self._train_step(X_batch, T_batch)
            if not np.isfinite(loss):
                guard.restore()
                self.optimizer.state.clear()
                rate = getattr(self.optimizer, "learning_rate", None)
                raise TrainingDivergedError(
                    f"Training diverged at epoch {epoch}, batch {number}: the loss became {loss}. The model "
                    f"was rolled back to the weights that produced the last finite loss and the optimizer's "
                    f"state was reset. Lower the learning rate (it is {rate}), e.g. by a factor of 10, "
                    f"or normalize the input features.")
            guard.commit()
            total_loss += loss * len(T_batch)
            correct += self._n_correct(output, T_batch)
            seen += len(T_batch)
            if interrupt.requested:
                break
        accuracy = correct / seen if self.classes_ is not None else float("nan")
        return total_loss / seen, accuracy

    def summary(self, print_fn=print):
        """Print a table of the layers with their shapes and parameter counts."""
        print_fn(summary_text(self))

    def get_weights(self):
        """Return a list (one dict per layer) of copies of every parameter and buffer."""
        return [layer.get_weights() if callable(getattr(layer, "get_weights", None)) else {}
                for layer in self.layers]

    def set_weights(self, weights):
        """Copy weights as returned by ``get_weights`` back into the layers, in place."""
        if len(weights) != len(self.layers):
            raise ValueError(f"set_weights expected {len(self.layers)} entries (one per layer), "
                             f"received {len(weights)}.")
        for layer, layer_weights in zip(self.layers, weights):
            if layer_weights:
                layer.set_weights(layer_weights)

    def save(self, path):
        """Write the whole model to one .npz file: architecture, weights, optimizer state, classes_.

        ``deeplearner.load_model(path)`` gives it back, ready to predict or to keep training;
        saving.py describes the file.
        """
        from .saving import save_model   # imported here because saving.py imports this module
        save_model(self, path)
