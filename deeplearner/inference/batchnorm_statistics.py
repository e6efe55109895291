"""recompute_batchnorm_statistics: measure BatchNorm's running statistics again with the final weights (PreciseBN)."""

import numpy as np

from ..layers.batchnorm import BatchNorm
from ..layers.residual import all_layers, inner_layers
from ..model import Sequential
from ..validation import check_positive_int, check_X

OWNER = "recompute_batchnorm_statistics"


def recompute_batchnorm_statistics(model, X, batch_size=32, *, shuffle=True, seed=0):
    """Set every BatchNorm's running mean and variance to the averages of its batch statistics over X.

    Parameters
    ----------
    model : Sequential
        A trained model with at least one BatchNorm layer. Changed in place: only the running
        statistics; gamma, beta and every other parameter stay as they are.
    X : array-like of shape (n, *input_shape)
        Data like the training data, usually the training data itself (no labels needed).
    batch_size : int
        Rows per batch: use the batch size the model was trained with. A batch's variance is
        on average (B - 1) / B times the data's for batches of B rows, and training normalized
        with batch statistics of that size. At least 2 when a BatchNorm sees rows.
    shuffle : bool
        Cut the batches from the rows in a random order (the default), as training does, so a
        file sorted by label does not give batches of one class. False keeps X's order.
    seed : int or None
        Seeds the shuffling's own generator (the model's generator is not used): the same seed
        gives the same statistics.

    Returns
    -------
    model : Sequential
        The same object, for ``model = recompute_batchnorm_statistics(model, X_train)``.

    Notes
    -----
    In training, BatchNorm's running_mean is a moving average, running = m running + (1 - m) mu_t
    after step t: mostly the statistics of the last 1 / (1 - m) batches, each measured with the
    weights of its own step. While the weights still move, that lags behind the final network.
    Wu & Johnson 2021 ("Rethinking 'Batch' in BatchNorm", https://arxiv.org/abs/2105.07576) call
    the remedy PreciseBN: with the weights fixed, run many batches and average their statistics.

    Here X is cut into batches of ``batch_size`` rows; a last batch of a single row joins the one
    before, as in ``fit``. Each batch runs through the model with every BatchNorm in training mode
    (normalizing with the batch's own statistics, as in training, so the layers after it see what
    they saw in training) and every other layer in inference mode (Dropout is the identity). For
    one BatchNorm, with mu_j and var_j (biased, as the layer stores it) the statistics of batch j
    of n_j rows::

        running_mean = sum_j n_j mu_j  / sum_j n_j
        running_var  = sum_j n_j var_j / sum_j n_j

    Batches are weighted by their rows: with equal batches this is the plain mean of the batch
    statistics, and a smaller last batch counts in proportion. So a BatchNorm that sees the data
    itself gets exactly the mean of X, and with one batch of all the rows, X's variance too.
    PyTorch's ``torch.optim.swa_utils.update_bn`` weights every batch equally instead (a
    cumulative average over batches: it sets momentum=None) and stores the unbiased variance
    n_j / (n_j - 1) var_j, as PyTorch's BatchNorm always does.

    If an error stops the pass, the running statistics are put back as they were.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"{OWNER}: model must be a deeplearner Sequential, received {type(model).__name__}.")
    for i, layer in enumerate(model.layers):
        if any(isinstance(inner, BatchNorm) for inner in all_layers([inner for _, inner in inner_layers(layer)])):
            raise ValueError(f"{OWNER}: layer {i} ({type(layer).__name__}) holds BatchNorm layers inside it, which "
                             f"this function does not reach (it runs each of the model's layers in one mode). "
                             f"Their running statistics are those training left; nothing was changed.")
    norms = [(i, layer) for i, layer in enumerate(model.layers) if isinstance(layer, BatchNorm)]
    if not norms:
        raise ValueError(f"{OWNER}: the model has no BatchNorm layer, so there are no statistics to recompute. "
                         f"(A model made by fold_batchnorm has none left: recompute before folding.)")
    batch_size = check_positive_int(batch_size, "batch_size", owner=OWNER, example=32)
    if not isinstance(shuffle, (bool, np.bool_)):
        raise TypeError(f"{OWNER}: shuffle must be True or False, received shuffle={shuffle!r}.")
    try:
        rng = np.random.default_rng(seed)
    except (TypeError, ValueError):
        raise ValueError(f"{OWNER}: seed must be None or a non-negative integer, received seed={seed!r}.") from None
    X = check_X(X, model.input_shape, model.dtype)
    i, first = max(norms, key=lambda item: item[1].min_training_batch)
    need = first.min_training_batch
    if min(len(X), batch_size) < need:
        received = f"X has {len(X)} sample" if len(X) < need else f"batch_size={batch_size}"
        raise ValueError(f"{OWNER}: BatchNorm (layer {i}) sees rows and needs at least {need} per batch to "
                         f"estimate a variance, received {received}. Pass batch_size={need} or more (the batch "
                         f"size the model was trained with) and at least {need} samples.")

    order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
    starts = list(range(0, len(X), batch_size))
    if len(starts) > 1 and len(X) - starts[-1] == 1:
        starts.pop()                          # a last batch of one row joins the one before, as in fit
    batches = [order[start:stop] for start, stop in zip(starts, starts[1:] + [len(X)])]

    saved = [(layer.running_mean.copy(), layer.running_var.copy(), layer.momentum) for _, layer in norms]
    totals = [(np.zeros(len(layer.running_mean)), np.zeros(len(layer.running_var))) for _, layer in norms]
    try:
        for _, layer in norms:
            layer.momentum = 0.0    # running = 0 * running + 1 * (this batch's statistic): the statistic itself
        for rows in batches:
            output = X[rows]                                       # (n_j, *input_shape), a copy
            norm = 0
            for layer in model.layers:
                is_batchnorm = isinstance(layer, BatchNorm)
                if is_batchnorm:
                    layer.running_mean[...], layer.running_var[...] = 0.0, 0.0   # no NaN left over to multiply by 0
                output = layer.forward(output, training=is_batchnorm)
                if is_batchnorm:
                    mean_sum, var_sum = totals[norm]
                    mean_sum += len(rows) * layer.running_mean     # n_j mu_j, in float64
                    var_sum += len(rows) * layer.running_var       # n_j var_j
                    norm += 1
        for (_, layer), (mean_sum, var_sum) in zip(norms, totals):
            layer.running_mean[...] = mean_sum / len(X)            # in place: anything holding the arrays sees it
            layer.running_var[...] = var_sum / len(X)
    except BaseException:
        for (_, layer), (mean, var, _) in zip(norms, saved):
            layer.running_mean[...], layer.running_var[...] = mean, var
        raise
    finally:
        for (_, layer), (_, _, momentum) in zip(norms, saved):
            layer.momentum = momentum
    return model
