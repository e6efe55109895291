"""The layers' math as plain loops: read these first, then the fast layers.

Each function computes what one layer computes, the obvious way: a loop over every output
value, and a backward pass in which each output sends its gradient back to exactly the inputs
it read. They are slow (seconds where the layers take milliseconds) and that is their point:
nothing here is an im2col, a stride trick or a fused expression. The tests hold every fast
layer to these functions (tests/test_reference.py), so a docstring that drifts from the code
is caught.

    conv2d_forward, conv2d_backward      Conv2D (layers/conv2d.py)
    pool_forward, pool_backward          MaxPool2D and AvgPool2D (layers/pooling.py)
    batchnorm_forward, batchnorm_backward  BatchNorm in training mode (layers/batchnorm.py)

Images are (batch, channels, height, width); ``pads`` is (top, bottom, left, right), as a
Conv2D's ``pads`` attribute holds them.
"""

import numpy as np


def pad(X, pads):
    """X : (batch, C, h, w) -> Xp : (batch, C, top + h + bottom, left + w + right), zeros around."""
    top, bottom, left, right = pads
    return np.pad(X, ((0, 0), (0, 0), (top, bottom), (left, right)))


# ---------------------------------------------------------------- Conv2D
def conv2d_forward(X, W, b, stride, pads):
    """X : (batch, C, h, w), W : (F, C, kh, kw), b : (F,) -> Y : (batch, F, h_out, w_out).

    Y[n, f, i, j] = b[f] + sum over (c, p, q) of W[f, c, p, q] * Xp[n, c, sh*i + p, sw*j + q].
    """
    Xp, (F, _, kh, kw), (sh, sw) = pad(X, pads), W.shape, stride
    h_out, w_out = (Xp.shape[2] - kh) // sh + 1, (Xp.shape[3] - kw) // sw + 1
    Y = np.zeros((len(X), F, h_out, w_out), dtype=X.dtype)
    for n in range(len(X)):
        for f in range(F):
            for i in range(h_out):
                for j in range(w_out):
                    window = Xp[n, :, sh*i:sh*i + kh, sw*j:sw*j + kw]       # (C, kh, kw)
                    Y[n, f, i, j] = b[f] + np.sum(W[f] * window)
    return Y


def conv2d_backward(X, W, stride, pads, dY):
    """dY : (batch, F, h_out, w_out) -> (dX of X's shape, dW of W's shape, db of shape (F,)).

    Y[n, f, i, j] read the window Xp[n, :, sh*i : sh*i + kh, sw*j : sw*j + kw] with weights W[f]
    and added b[f], so its gradient dY[n, f, i, j] goes back along those three paths:
    the window gets dY * W[f], W[f] gets dY * window, b[f] gets dY. The padding's share is
    dropped at the end: those zeros were not inputs.
    """
    Xp, (F, _, kh, kw), (sh, sw) = pad(X, pads), W.shape, stride
    dXp, dW, db = np.zeros_like(Xp), np.zeros_like(W), np.zeros(F, dtype=W.dtype)
    for n in range(len(X)):
        for f in range(F):
            for i in range(dY.shape[2]):
                for j in range(dY.shape[3]):
                    rows, cols = slice(sh*i, sh*i + kh), slice(sw*j, sw*j + kw)
                    dXp[n, :, rows, cols] += dY[n, f, i, j] * W[f]
                    dW[f] += dY[n, f, i, j] * Xp[n, :, rows, cols]
                    db[f] += dY[n, f, i, j]
    top, _, left, _ = pads
    return dXp[:, :, top:top + X.shape[2], left:left + X.shape[3]], dW, db


# ---------------------------------------------------------------- MaxPool2D and AvgPool2D
def pool_forward(X, pool_size, stride, kind):
    """X : (batch, C, h, w) -> Y : (batch, C, h_out, w_out); ``kind`` is "max" or "avg".

    Y[n, c, i, j] is the maximum (or the mean) of the window X[n, c, sh*i : sh*i + kh,
    sw*j : sw*j + kw]. Rows and columns that no whole window covers are left out.
    """
    (kh, kw), (sh, sw) = pool_size, stride
    h_out, w_out = (X.shape[2] - kh) // sh + 1, (X.shape[3] - kw) // sw + 1
    Y = np.zeros((*X.shape[:2], h_out, w_out), dtype=X.dtype)
    for n in range(X.shape[0]):
        for c in range(X.shape[1]):
            for i in range(h_out):
                for j in range(w_out):
                    window = X[n, c, sh*i:sh*i + kh, sw*j:sw*j + kw]        # (kh, kw)
                    Y[n, c, i, j] = window.max() if kind == "max" else window.mean()
    return Y


def pool_backward(X, pool_size, stride, kind, dY):
    """dY : (batch, C, h_out, w_out) -> dX : (batch, C, h, w).

    Max: all of dY[n, c, i, j] goes to the window's maximum; when several values tie, to the
    first in row-major order (np.argmax's choice, and PyTorch's). Avg: each of the kh * kw
    values gets dY[n, c, i, j] / (kh kw). Overlapping windows add their shares.
    """
    (kh, kw), (sh, sw) = pool_size, stride
    dX = np.zeros_like(X)
    for n in range(X.shape[0]):
        for c in range(X.shape[1]):
            for i in range(dY.shape[2]):
                for j in range(dY.shape[3]):
                    rows, cols = slice(sh*i, sh*i + kh), slice(sw*j, sw*j + kw)
                    if kind == "max":
                        p, q = np.unravel_index(np.argmax(X[n, c, rows, cols]), (kh, kw))
                        dX[n, c, sh*i + p, sw*j + q] += dY[n, c, i, j]
                    else:
                        dX[n, c, rows, cols] += dY[n, c, i, j] / (kh * kw)
    return dX


# ---------------------------------------------------------------- BatchNorm
def _channel_values(A, c):
    """The M values of channel c, flat: a column of rows (batch, C), or a channel of images."""
    return A[:, c].reshape(-1)


def batchnorm_forward(X, gamma, beta, eps):
    """X : (batch, C) or (batch, C, h, w) -> (Y of X's shape, mu (C,), var (C,)), in training mode.

    For each channel c, over its M values (batch, or batch * h * w for images)::

        mu = (1/M) sum_i x_i;   var = (1/M) sum_i (x_i - mu)^2;   y_i = gamma x_hat_i + beta,
        x_hat_i = (x_i - mu) / sqrt(var + eps)
    """
    C = X.shape[1]
    Y, mu, var = np.zeros_like(X), np.zeros(C, dtype=X.dtype), np.zeros(C, dtype=X.dtype)
    for c in range(C):
        x = _channel_values(X, c)
        M = len(x)
        mu[c] = sum(x) / M
        var[c] = sum((x_i - mu[c]) ** 2 for x_i in x) / M
        x_hat = (x - mu[c]) / np.sqrt(var[c] + eps)
        Y[:, c] = (gamma[c] * x_hat + beta[c]).reshape(Y[:, c].shape)
    return Y, mu, var


def batchnorm_backward(X, gamma, eps, dY):
    """dY of X's shape -> (dX of X's shape, dgamma (C,), dbeta (C,)), step by step as BatchNorm's Notes derive.

    Per channel, with s = 1 / sqrt(var + eps)::

        1. dbeta    = sum_i dy_i                  dgamma = sum_i dy_i x_hat_i
        2. dx_hat_i = gamma dy_i
        3. dvar     = sum_i dx_hat_i (x_i - mu) (-1/2) (var + eps)^(-3/2)
        4. dmu      = sum_i dx_hat_i (-s) + dvar (1/M) sum_i -2 (x_i - mu)
        5. dx_i     = dx_hat_i s + dvar 2 (x_i - mu) / M + dmu / M
    """
    C = X.shape[1]
    dX, dgamma, dbeta = np.zeros_like(X), np.zeros(C, dtype=X.dtype), np.zeros(C, dtype=X.dtype)
    for c in range(C):
        x, dy = _channel_values(X, c), _channel_values(dY, c)
        M = len(x)
        mu = sum(x) / M
        var = sum((x_i - mu) ** 2 for x_i in x) / M
        s = 1 / np.sqrt(var + eps)
        x_hat = (x - mu) * s
        dbeta[c], dgamma[c] = sum(dy), sum(dy * x_hat)                                   # 1
        dx_hat = gamma[c] * dy                                                           # 2
        dvar = sum(dx_hat * (x - mu)) * (-0.5) * (var + eps) ** -1.5                     # 3
        dmu = sum(dx_hat * -s) + dvar * sum(-2 * (x - mu)) / M                           # 4
        dx = dx_hat * s + dvar * 2 * (x - mu) / M + dmu / M                              # 5
        dX[:, c] = dx.reshape(dX[:, c].shape)
    return dX, dgamma, dbeta
