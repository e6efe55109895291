"""Sliding windows over images: what Conv2D and the pooling layers share.

A window of kh x kw pixels slides over an image of h x w pixels in steps of (sh, sw). Output
pixel (i, j) reads the input rows sh*i .. sh*i + kh - 1 and columns sw*j .. sw*j + kw - 1, so::

    h_out = (h - kh) // sh + 1        w_out = (w - kw) // sw + 1

(rows left over at the bottom and right, fewer than a step, are not read: PyTorch's floor mode).
Turned around, the input pixels that the window offset (p, q) reads for all outputs at once
form one strided slice, ``A[:, :, rows(p), cols(q)]`` with ``offset_slice`` below: pooling and
Conv2D's backward loop over the kh*kw offsets, never over samples, rows or columns.
"""

import math
import numbers

from .base import ShapeError


def pair(value, argument, owner, example):
    """``value`` as a pair of positive ints: 3 -> (3, 3), (2, 3) stays; ValueError otherwise."""
    values = (value, value) if not isinstance(value, (tuple, list)) else tuple(value)
    if len(values) != 2 or not all(_is_positive_int(v) for v in values):
        raise ValueError(f"{owner}: {argument} must be a positive int or a pair of them, received "
                         f"{argument}={value!r}. Example: {example}.")
    return int(values[0]), int(values[1])


def _is_positive_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1


def image_shape(input_shape, owner):
    """The (channels, height, width) a layer was built with; ShapeError for a flat width or another rank."""
    if isinstance(input_shape, numbers.Integral):
        side = math.isqrt(int(input_shape))
        example = f"(1, {side}, {side})" if side * side == input_shape else "(channels, height, width)"
        raise ShapeError(
            f"{owner} needs images of shape (channels, height, width), received the flat width "
            f"{input_shape}: build the model with input_shape={example} and pass X of shape "
            f"(n, {example[1:-1]}). A Flatten or Dense layer makes flat rows: put it after {owner}.")
    shape = tuple(int(n) for n in input_shape)
    if len(shape) != 3:
        hint = f" Add the channel axis: input_shape=(1, {shape[0]}, {shape[1]})." if len(shape) == 2 else ""
        raise ShapeError(f"{owner} needs images of shape (channels, height, width), received the shape "
                         f"{shape}.{hint}")
    return shape


def check_fits(window, image, owner, what, image_name, fix):
    """ShapeError unless a window (kh, kw) fits in an image (h, w), saying by how much it does not."""
    (kh, kw), (h, w) = window, image
    rows, cols = kh - h, kw - w
    if rows > 0 or cols > 0:
        excess = " and ".join(f"{n} {unit}{'s' if n > 1 else ''}"
                              for n, unit in ((rows, "row"), (cols, "column")) if n > 0)
        raise ShapeError(f"{owner}: {what} {kh}x{kw} is larger than the {image_name} {h}x{w} by {excess}: "
                         f"{fix}.")


def output_size(size, window, stride):
    """How many positions a window of ``window`` pixels takes along ``size`` pixels, in steps of ``stride``."""
    return (size - window) // stride + 1


def offset_slice(offset, stride, n_out):
    """The input pixels read at window offset ``offset`` by outputs 0 .. n_out - 1, along one axis."""
    return slice(offset, offset + stride * n_out, stride)


def same_padding(size, window, stride):
    """(before, after) padding along one axis so that the output has ceil(size / stride) pixels.

    TensorFlow's rule ("SAME"): the total padding is what the last window needs to end at the
    padded edge, and an odd total puts the extra pixel after (at the bottom or right)::

        n_out = ceil(size / stride)
        total = max((n_out - 1) * stride + window - size, 0)
        before, after = total // 2, total - total // 2

    Stride 1 and an odd window give (window - 1) / 2 on each side.
    """
    n_out = -(-size // stride)                                  # ceil(size / stride) in integers
    total = max((n_out - 1) * stride + window - size, 0)
    return total // 2, total - total // 2
