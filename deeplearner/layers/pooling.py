"""Max and average pooling: one number per window of each channel of the image."""

import numpy as np

from .base import Layer
from .windows import check_fits, image_shape, offset_slice, output_size, pair


class _Pool2D(Layer):
    """What both pools share: the window and its stride, the output shape, and the window offsets.

    A window of kh x kw pixels moves in steps of (sh, sw). For X of shape (batch, C, h, w) the
    output has shape (batch, C, h_out, w_out), h_out = (h - kh) // sh + 1 and likewise w_out:
    rows and columns that do not fill a window are dropped (PyTorch's default floor mode).

    Neither pool loops over samples, rows or columns: each pass handles every window at once.
    ``self._at(A, p, q)`` is the strided view of shape (batch, C, h_out, w_out) holding, for
    every output pixel (i, j), the pixel A[:, :, sh*i + p, sw*j + q] at offset (p, q) of its
    window; for the usual 2x2 pool that is four slices such as ``X[:, :, 0::2, 1::2]``.
    AvgPool2D's forward and both backwards loop over the kh*kw offsets with it; MaxPool2D's
    forward takes each row's maximum over the window's columns first, then the largest of
    those over the window's rows (kw + kh passes). The plain loops over every window are
    ``deeplearner.layers.reference.pool_forward`` and ``pool_backward``.
    """

    def __init__(self, pool_size=2, stride=None, **unknown):
        super().__init__(**unknown)   # Layer refuses Keras's strides= and the like, naming the fix
        owner = type(self).__name__
        self.pool_size = pair(pool_size, "pool_size", owner, f"{owner}(2) or {owner}((2, 3))")
        self.stride = self.pool_size if stride is None else pair(stride, "stride", owner,
                                                                 f"{owner}(3, stride=2)")

    def get_config(self):
        return {"pool_size": list(self.pool_size), "stride": list(self.stride)}

    def build(self, input_shape, rng, dtype):
        super().build(input_shape, rng, dtype)
        C, h, w = image_shape(input_shape, self.name)
        check_fits(self.pool_size, (h, w), self.name, "pool", "input",
                   'use a smaller pool_size, or keep the images larger before it (padding="same" in '
                   'the Conv2D layers, fewer pooling layers)')
        (kh, kw), (sh, sw) = self.pool_size, self.stride
        self.out_hw = (output_size(h, kh, sh), output_size(w, kw, sw))
        # With a stride smaller than the window, windows overlap: an input pixel may receive
        # gradient from several of them, which backward must add up.
        self.overlapping = sh < kh or sw < kw
        # Windows side by side that tile the whole image: backward writes every pixel of dX once.
        self.tiling = (sh, sw) == (kh, kw) and (h, w) == (kh * self.out_hw[0], kw * self.out_hw[1])

    def outputshape(self):
        return (self.inputshape[0], *self.out_hw)

    def _offsets(self):
        """The window offsets (p, q) in row-major order: (0, 0), (0, 1), ..., (kh - 1, kw - 1)."""
        kh, kw = self.pool_size
        return [(p, q) for p in range(kh) for q in range(kw)]

    def _at(self, A, p, q):
        """A : (batch, C, h, w) -> its view of shape (batch, C, h_out, w_out) at window offset (p, q)."""
        (sh, sw), (h_out, w_out) = self.stride, self.out_hw
        return A[:, :, offset_slice(p, sh, h_out), offset_slice(q, sw, w_out)]

    def _new_dX(self, dY):
        """A new array for dX of shape (batch, C, h, w): zeros, unless windows tile the image and
        backward writes every pixel (then left uninitialized, which is faster)."""
        shape = (len(dY), *self.inputshape)
        return np.empty(shape, dtype=dY.dtype) if self.tiling else np.zeros(shape, dtype=dY.dtype)

    def _add_at(self, dX, p, q, G):
        """dX[:, :, sh*i + p, sw*j + q] += G[:, :, i, j], for all i and j at once."""
        dX_at = self._at(dX, p, q)
        if self.overlapping:
            dX_at += G
        else:
            dX_at[...] = G      # windows apart: dX is still 0 here, and writing is faster than adding


class MaxPool2D(_Pool2D):
    """Keep the largest value of each window.

    Parameters
    ----------
    pool_size : int or pair of int
        (kh, kw), the window.
    stride : int, pair of int or None
        (sh, sw); None (the default) means pool_size: windows side by side.

    See Also
    --------
    deeplearner.layers.reference.pool_forward, deeplearner.layers.reference.pool_backward :
        The same math as plain loops over every window.

    Notes
    -----
    For X of shape (batch, C, h, w) (see ``_Pool2D`` for h_out and w_out)::

        Y[n, c, i, j] = max_{p, q} X[n, c, sh*i + p, sw*j + q]
                      = max_p ( max_q X[n, c, sh*i + p, sw*j + q] )

    computed in that second form: first each input row's maximum over the kw columns of every
    window (kw - 1 elementwise maxima of strided column slices, whole rows per pass), then the
    largest of the kh rows of each window (kh - 1 more). For a 2x2 pool that is about 1.4x
    faster than the elementwise maximum of the four offset slices, and much faster than
    reshaping X into windows and reducing each.

    Backward. Y[n, c, i, j] is one of the inputs of its window, so dY[n, c, i, j] goes to that
    input and to no other::

        dX[n, c, sh*i + p, sw*j + q] += dY[n, c, i, j] * first[p, q][n, c, i, j]

    where first[p, q] is 1 where X at offset (p, q) is the window's maximum and no earlier
    offset in row-major order is: with ties, all of dY goes to the FIRST maximum, as in
    PyTorch (any share of it would be a valid subgradient; this one is PyTorch's, exactly).
    Where windows overlap (stride < pool_size), a pixel that is the maximum of several windows
    adds up their gradients. The masks ``first`` are found in a training forward and kept for
    backward; inference keeps nothing. (A NaN makes its window's output NaN, and no input of
    that window gets gradient: NaN equals nothing, not even the maximum.)
    """

    first = None   # the masks of the last training forward, for backward (none before the first)

    def forward(self, X, training=True):
        """X : ndarray of shape (batch, C, h, w) -> Y : ndarray of shape (batch, C, h_out, w_out)."""
        # Plain: Y = max over (p, q) of self._at(X, p, q). The maximum of a window is the largest
        # of its rows' maxima, and taken in that order each pass reads whole rows of pixels
        # in place of every other pixel: about 1.4x faster for a 2x2 pool.
        (kh, kw), (sh, sw), (h_out, w_out) = self.pool_size, self.stride, self.out_hw
        rows = X[:, :, :, offset_slice(0, sw, w_out)].copy()        # (batch, C, h, w_out)
        for q in range(1, kw):                                      # each row's maximum over the window's columns
            np.maximum(rows, X[:, :, :, offset_slice(q, sw, w_out)], out=rows)
        Y = rows[:, :, offset_slice(0, sh, h_out)].copy()           # (batch, C, h_out, w_out)
        for p in range(1, kh):                                      # the largest of the window's rows
            np.maximum(Y, rows[:, :, offset_slice(p, sh, h_out)], out=Y)
        self.first = self._first_maxima(X, Y) if training else None
        return Y

    def _first_maxima(self, X, Y):
        """Boolean masks of shape (kh*kw, batch, C, h_out, w_out): ``first`` of the Notes, by offset."""
        offsets = self._offsets()
        first = np.empty((len(offsets), *Y.shape), dtype=bool)
        np.equal(self._at(X, *offsets[0]), Y, out=first[0])
        unclaimed = ~first[0]                                   # windows whose maximum no offset took yet
        for k, (p, q) in enumerate(offsets[1:], start=1):
            np.equal(self._at(X, p, q), Y, out=first[k])
            first[k] &= unclaimed
            unclaimed ^= first[k]                               # first[k] lies inside unclaimed
        return first

    def backward(self, dY):
        """dY : ndarray of shape (batch, C, h_out, w_out) -> dX : ndarray of shape (batch, C, h, w)."""
        if self.first is None:
            raise RuntimeError("MaxPool2D.backward needs a forward(X, training=True) first: a forward in "
                               "inference mode (training=False) keeps no record of where the maxima were.")
        dX = self._new_dX(dY)
        for k, (p, q) in enumerate(self._offsets()):
            if self.overlapping:
                self._add_at(dX, p, q, dY * self.first[k])       # (batch, C, h_out, w_out)
            else:                                                # no pixel in two windows: the product
                np.multiply(dY, self.first[k], out=self._at(dX, p, q))   # is written straight into place
        return dX

    def onnx_nodes(self, builder, X):
        """ONNX export (see deeplearner/export/onnx.py): MaxPool without padding, in floor mode as forward."""
        return builder.node("MaxPool", [X], kernel_shape=list(self.pool_size), strides=list(self.stride))


class AvgPool2D(_Pool2D):
    """Average each window.

    Parameters
    ----------
    pool_size : int or pair of int
        (kh, kw), the window.
    stride : int, pair of int or None
        (sh, sw); None (the default) means pool_size: windows side by side.

    See Also
    --------
    deeplearner.layers.reference.pool_forward, deeplearner.layers.reference.pool_backward :
        The same math as plain loops over every window.

    Notes
    -----
    For X of shape (batch, C, h, w) (see ``_Pool2D`` for h_out and w_out)::

        Y[n, c, i, j] = (1 / (kh kw)) sum_{p, q} X[n, c, sh*i + p, sw*j + q]

    Backward: each of the kh*kw inputs of a window had weight 1 / (kh kw) in its output::

        dX[n, c, sh*i + p, sw*j + q] += dY[n, c, i, j] / (kh kw)

    summed over the windows a pixel is in (one, unless stride < pool_size; none for the rows
    and columns that no window reaches, whose gradient is 0).
    """

    def forward(self, X, training=True):
        """X : ndarray of shape (batch, C, h, w) -> Y : ndarray of shape (batch, C, h_out, w_out)."""
        offsets = self._offsets()
        Y = self._at(X, *offsets[0]).copy()                     # (batch, C, h_out, w_out)
        for p, q in offsets[1:]:
            Y += self._at(X, p, q)
        Y /= len(offsets)                                       # an int: float32 stays float32
        return Y

    def backward(self, dY):
        """dY : ndarray of shape (batch, C, h_out, w_out) -> dX : ndarray of shape (batch, C, h, w)."""
        offsets = self._offsets()
        share = dY / len(offsets)                               # (batch, C, h_out, w_out)
        dX = self._new_dX(dY)
        for p, q in offsets:
            self._add_at(dX, p, q, share)
        return dX

    def onnx_nodes(self, builder, X):
        """ONNX export (see deeplearner/export/onnx.py): AveragePool without padding, in floor mode as forward.

        Every window lies inside the image, so count_include_pad does not matter. ONNX Runtime's
        CPU provider runs AveragePool in float32 only (the builder says so).
        """
        return builder.node("AveragePool", [X], kernel_shape=list(self.pool_size), strides=list(self.stride))
