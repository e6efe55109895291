"""Conv2D: 2-D convolution of channels-first images, computed as im2col and one matrix product."""

import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import initializers, regularizers
from .base import Layer
from .windows import check_fits, image_shape, offset_slice, output_size, pair, same_padding


class Conv2D(Layer):
    """Slide ``filters`` learned kernels over the image; each gives one output channel.

    Parameters
    ----------
    filters : int
        Number of kernels F, the number of output channels.
    kernel_size : int or pair of int
        (kh, kw); 3 means 3x3.
    stride : int or pair of int
        (sh, sw), the step between neighbouring windows.
    padding : int, pair of int, "valid" or "same"
        Zeros added around each image. p: p rows at the top and bottom and p columns left and
        right; (ph, pw): ph rows at the top and bottom, pw columns left and right (PyTorch's
        meaning); "valid": none; "same": TensorFlow's rule, h_out = ceil(h / sh) and
        w_out = ceil(w / sw), the padding shared evenly with an odd pixel at the bottom or right
        (stride 1 and an odd kernel: (k - 1) / 2 on every side; see ``windows.same_padding``).
    init : str or Initializer
        How W is drawn, with fan_in = C kh kw and fan_out = F kh kw; b starts at zero. A name
        or an object from ``deeplearner.initializers``, as for Dense:
        "he_normal" (the default; He et al. 2015, suited to relu): W ~ N(0, 2 / fan_in);
        "glorot_uniform": W ~ U(-r, r), r = sqrt(6 / (fan_in + fan_out)); "he_uniform",
        "glorot_normal", "normal" or ``Normal(std)``, "zeros".
    kernel_regularizer : L2, "l2" or None
        A penalty on W added to the loss, as for Dense: ``L2(1e-4)`` adds 1e-4 * sum(W^2), and
        backward adds 2 l2 W to dW; ``penalty()`` returns it, and the loss ``fit`` reports includes it.

    Attributes
    ----------
    params : {"W": ndarray of shape (F, C, kh, kw), "b": ndarray of shape (F,)}
        W in PyTorch's layout, so weights copy over from ``nn.Conv2d`` unchanged.

    See Also
    --------
    deeplearner.layers.reference.conv2d_forward, deeplearner.layers.reference.conv2d_backward :
        The same math as plain loops over every output value; read them first.

    Notes
    -----
    X of shape (batch, C, h, w) is padded with zeros to Xp of shape (batch, C, hp, wp). Then
    Y has shape (batch, F, h_out, w_out), with h_out = (hp - kh) // sh + 1 and likewise w_out::

        Y[n, f, i, j] = b[f] + sum_{c, p, q} W[f, c, p, q] * Xp[n, c, sh*i + p, sw*j + q]

    (a cross-correlation: what "convolution" means in every deep-learning library). As loops::

        for n, f, i, j:
            window = Xp[n, :, sh*i : sh*i + kh, sw*j : sw*j + kw]          # (C, kh, kw)
            Y[n, f, i, j] = b[f] + sum(W[f] * window)

    im2col writes every window out as a column, so that all those sums are one matrix product,
    with K = C kh kw numbers per window and P = h_out w_out windows per image::

        cols[n, (c, p, q), (i, j)] = Xp[n, c, sh*i + p, sw*j + q]          (batch, K, P)
        Y[n] = W2 @ cols[n] + b,   W2 = W.reshape(F, K)                    (F, K) @ (K, P) -> (F, P)

    Backward, given dY = dL/dY of shape (batch, F, h_out, w_out). Y is linear in b, in W and in
    Xp, so each gradient adds up dY times the coefficient, over every output the entry is in:

    1. b[f] is added to every Y[n, f, i, j]::

           db[f] = sum_{n, i, j} dY[n, f, i, j]

    2. W[f, c, p, q] multiplies Xp[n, c, sh*i + p, sw*j + q] in Y[n, f, i, j]::

           dW[f, c, p, q] = sum_{n, i, j} dY[n, f, i, j] * Xp[n, c, sh*i + p, sw*j + q]
                          = sum_n (dY[n] @ cols[n]^T)[f, (c, p, q)]         (F, P) @ (P, K)

    3. Xp[n, c, y, x] meets W[f, c, p, q] in every Y[n, f, i, j] with sh*i + p = y and
       sw*j + q = x::

           dXp[n, c, y, x] = sum over f, p, q, i, j with sh*i + p = y, sw*j + q = x
                             of dY[n, f, i, j] * W[f, c, p, q]

       In two steps. First the gradient of every entry of cols, a matrix product again::

           dcols[n] = W2^T @ dY[n]                                           (K, F) @ (F, P)

       Then col2im: cols[n, (c, p, q), (i, j)] is a copy of the pixel Xp[n, c, sh*i + p, sw*j + q],
       so its gradient goes back to that pixel, adding up where windows overlap::

           for p, q:   dXp[n, c, sh*i + p, sw*j + q] += dcols[n, (c, p, q), (i, j)]   for all n, c, i, j

       This is the transposed convolution of dY with W (for stride 1: dY, padded, correlated
       with W rotated by 180 degrees).
    4. The padding is no input: dX = dXp[:, :, top : top + h, left : left + w].
    """

    def __init__(self, filters, kernel_size, stride=1, padding=0, init="he_normal", kernel_regularizer=None,
                 **unknown):
        super().__init__(**unknown)   # Layer refuses Keras's activation=, strides= and the like, naming the fix
        if isinstance(filters, bool) or not isinstance(filters, numbers.Integral) or filters < 1:
            raise ValueError(f"Conv2D: filters must be a positive int, received filters={filters!r}. "
                             f"Example: Conv2D(8, 3) has 8 filters of 3x3.")
        self.filters = int(filters)
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2D", "Conv2D(8, 3) or Conv2D(8, (3, 5))")
        self.stride = pair(stride, "stride", "Conv2D", "Conv2D(8, 3, stride=2)")
        self.padding = _checked_padding(padding)
        self.init = initializers.get(init, "Conv2D")   # an Initializer, e.g. HeNormal()
        self.kernel_regularizer = regularizers.get(kernel_regularizer, "Conv2D")   # an L2, or None
        self.cols = None   # im2col of the last training forward's input, for dW in backward

    def get_config(self):
        padding = self.padding if isinstance(self.padding, str) else list(self.padding)
        config = {"filters": self.filters, "kernel_size": list(self.kernel_size),
                  "stride": list(self.stride), "padding": padding,
                  "init": initializers.serialize(self.init, "Conv2D")}
        if self.kernel_regularizer is not None:   # only when set: configs without one stay as they were
            config["kernel_regularizer"] = regularizers.serialize(self.kernel_regularizer, "Conv2D")
        return config

    def build(self, input_shape, rng, dtype):
        super().build(input_shape, rng, dtype)
        C, h, w = image_shape(input_shape, "Conv2D")
        (kh, kw), (sh, sw), F = self.kernel_size, self.stride, self.filters
        if self.padding == "same":
            (top, bottom), (left, right) = same_padding(h, kh, sh), same_padding(w, kw, sw)
        else:
            ph, pw = (0, 0) if self.padding == "valid" else self.padding
            top, bottom, left, right = ph, ph, pw, pw
        self.pads = (top, bottom, left, right)
        hp, wp = h + top + bottom, w + left + right
        check_fits((kh, kw), (hp, wp), "Conv2D", "kernel", "padded input" if any(self.pads) else "input",
                   'use a smaller kernel_size, or more padding (padding="same" always fits)')
        self.out_hw = (output_size(hp, kh, sh), output_size(wp, kw, sw))
        # fan_in = C kh kw, fan_out = F kh kw: initializers.fans reads them from W's shape.
        self.params = {"W": self.init((F, C, kh, kw), rng, dtype),         # drawn from the model's rng
                       "b": initializers.Zeros()((F,), rng, dtype)}        # draws nothing
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def outputshape(self):
        return (self.filters, *self.out_hw)

    def forward(self, X, training=True):
        """X : ndarray of shape (batch, C, h, w) -> Y : ndarray of shape (batch, F, h_out, w_out)."""
        n, F = len(X), self.filters
        (kh, kw), (sh, sw), (h_out, w_out) = self.kernel_size, self.stride, self.out_hw
        # A view, nothing copied yet: windows[n, c, i, j] = Xp[n, c, sh*i : sh*i + kh, sw*j : sw*j + kw].
        windows = sliding_window_view(self._pad(X), (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
        # im2col's one copy: (batch, C, kh, kw, h_out, w_out) -> (batch, K, P).
        cols = windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, -1, h_out * w_out)
        self.cols = cols if training else None     # kept for dW in backward, only when training
        # matmul broadcasts W2 over the batch: one small GEMM per image, whose (F, P) result is
        # already channels-first (one (F, K) @ (K, batch P) product would need a transpose), and
        # small GEMMs stay on one core, so they never wait for a busy second one.
        Y = self.params["W"].reshape(F, -1) @ cols      # (F, K) @ (batch, K, P) -> (batch, F, P)
        Y += self.params["b"][:, None]                  # in place: no second (batch, F, P) array
        return Y.reshape(n, F, h_out, w_out)

    def backward(self, dY):
        """dY : ndarray of shape (batch, F, h_out, w_out) -> dX : ndarray of shape (batch, C, h, w).

        Returns None instead when ``needs_input_grad`` is False (the model's first layer).
        """
        if self.cols is None:
            raise RuntimeError("Conv2D.backward needs a forward(X, training=True) first: a forward in "
                               "inference mode (training=False) keeps no input to compute dW from.")
        n, F = len(dY), self.filters
        dY3 = dY.reshape(n, F, -1)                                    # (batch, F, P)
        # db[f] = sum over n and p of dY3[n, f, p]; plain: dY3.sum(axis=(0, 2)). einsum adds into
        # the (F,) result as it reads, without the (batch, F) array of partial sums.
        np.einsum("nfp->f", dY3, out=self.grads["b"])                 # db: (batch, F, P) -> (F,)
        dW = self.grads["W"].reshape(F, -1)                           # (F, K), a view: written in place
        np.sum(dY3 @ self.cols.transpose(0, 2, 1), axis=0, out=dW)    # (batch, F, P) @ (batch, P, K) -> (F, K)
        if self.kernel_regularizer is not None and self.whole_batch.leads:   # once per batch (base.py)
            # dW += 2 l2 W: the penalty's gradient
            self.grads["W"] += self.kernel_regularizer.gradient(self.params["W"])
        if not self.needs_input_grad:
            return None     # the first layer: dX would be the gradient for the data, which nothing reads
        return self._col2im(dY)

    def penalty(self):
        """The kernel_regularizer's penalty for the current W (l2 sum(W^2)), a float; 0.0 without one."""
        if self.kernel_regularizer is None or "W" not in self.params:
            return 0.0
        return self.kernel_regularizer(self.params["W"])

    def _col2im(self, dY):
        """dY : ndarray of shape (batch, F, h_out, w_out) -> dX : ndarray of shape (batch, C, h, w): steps 3-4.

        The numbers of dcols and dXp in the Notes, with the axes in another order: output pixel
        first and batch last, dcols[(i, j), (p, q, c), n] and dXp[y, x, c, n]. That buys speed
        twice. Each of the kh*kw adds runs over rows of C*batch neighbouring numbers (800 on the
        benchmark's second conv) instead of w_out (10): about 1.5x faster. And the product is batched
        over the P output pixels, one small GEMM each, as forward's is over images: one large
        (K, F) @ (F, P batch) product is as fast on an idle machine, but OpenBLAS spreads it over
        the cores, and it waits 10-30x longer when another program keeps one of them busy.
        """
        # Plain, in the Notes' axis order (what deeplearner.layers.reference.conv2d_backward
        # computes by loops):
        #     dcols = W2.T @ dY3                                       (K, F) @ (batch, F, P) -> (batch, K, P)
        #     for p, q: dXp[:, :, sh*i + p, sw*j + q] += dcols[:, (c, p, q), (i, j)]    for all c, i, j
        #     dX = dXp[:, :, top:top + h, left:left + w]
        # Below, the same numbers with the output pixel first and the batch last.
        (C, h, w), F, n = self.inputshape, self.filters, len(dY)
        (kh, kw), (sh, sw), (h_out, w_out) = self.kernel_size, self.stride, self.out_hw
        top, bottom, left, right = self.pads
        dY_t = dY.transpose(2, 3, 1, 0).reshape(h_out * w_out, F, n)   # (h_out, w_out, F, batch) -> (P, F, batch)
        W_t = self.params["W"].transpose(2, 3, 1, 0).reshape(-1, F)    # (kh, kw, C, F) -> (K, F)
        dcols = (W_t @ dY_t).reshape(h_out, w_out, kh, kw, C, n)       # (K, F) @ (P, F, batch) -> (P, K, batch)
        dXp = np.zeros((h + top + bottom, w + left + right, C, n), dtype=dY.dtype)
        for p in range(kh):
            for q in range(kw):
                dXp[offset_slice(p, sh, h_out), offset_slice(q, sw, w_out)] += dcols[:, :, p, q]
        dX = dXp[top:top + h, left:left + w]                          # drop the padding: (h, w, C, batch)
        return np.ascontiguousarray(dX.transpose(3, 2, 0, 1))         # (batch, C, h, w)

    def _pad(self, X):
        """X : (batch, C, h, w) -> Xp : (batch, C, hp, wp), zeros around; X itself without padding."""
        top, bottom, left, right = self.pads
        if not any(self.pads):
            return X
        n, C, h, w = X.shape
        Xp = np.zeros((n, C, h + top + bottom, w + left + right), dtype=X.dtype)
        Xp[:, :, top:top + h, left:left + w] = X      # np.pad does the same, several times slower here
        return Xp

    def onnx_nodes(self, builder, X):
        """ONNX export (see deeplearner/export/onnx.py): Conv(X, W, b), W in ONNX's (F, C, kh, kw) layout.

        ONNX orders pads as [top, left, bottom, right]; "same" is exported as the numbers build
        worked out. ONNX Runtime's CPU provider runs Conv in float32 only (the builder says so).
        """
        top, bottom, left, right = self.pads
        W, b = builder.constant("W", self.params["W"]), builder.constant("b", self.params["b"])
        return builder.node("Conv", [X, W, b], kernel_shape=list(self.kernel_size), strides=list(self.stride),
                            pads=[top, left, bottom, right])


def _checked_padding(padding):
    """"valid", "same", or (ph, pw) from an int or a pair of non-negative ints; ValueError otherwise."""
    if isinstance(padding, str) and padding in ("valid", "same"):
        return padding
    values = (padding, padding) if not isinstance(padding, (tuple, list)) else tuple(padding)
    if len(values) != 2 or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 0
                                   for v in values):
        raise ValueError(f'Conv2D: padding must be a non-negative int, a pair of them, "valid" or "same", '
                         f'received padding={padding!r}. Example: Conv2D(8, 3, padding=1) or '
                         f'Conv2D(8, 3, padding="same").')
    return int(values[0]), int(values[1])
