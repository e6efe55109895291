"""Layer normalization (Ba, Kiros & Hinton 2016, https://arxiv.org/abs/1607.06450), for rows and images."""

import numbers

from ..validation import check_real
from .base import Layer, ShapeError
from .groupnorm import GroupNorm


class LayerNorm(GroupNorm):
    """Normalize each sample over all of its own values, then scale and shift each feature or channel.

    - rows X of shape (batch, n): one mean and variance per sample, over its n features; gamma
      and beta of shape (n,), one per feature, as PyTorch's ``nn.LayerNorm(n)`` and CS231n's
      ``layernorm_forward``;
    - images X of shape (batch, C, H, W): one mean and variance per sample, over its C H W
      values; gamma and beta of shape (C,), one per channel. That is ``GroupNorm(1)``, and
      PyTorch's ``nn.GroupNorm(1, C)``. PyTorch's ``nn.LayerNorm([C, H, W])`` normalizes the same
      way but has elementwise parameters of shape (C, H, W) instead.

    Parameters
    ----------
    eps : float > 0
        Added to the variance before the square root, so a constant sample does not divide by 0.

    Attributes
    ----------
    params : {"gamma", "beta"}, each of shape (n,) for rows or (C,) for images
        They start at ones and zeros, so the layer starts as a pure normalization.

    Notes
    -----
    For rows, one sample x_1 .. x_n (for images, the sample's M = C H W values, gamma_i and
    beta_i those of value i's channel)::

        mu      = (1/n) sum_i x_i
        var     = (1/n) sum_i (x_i - mu)^2          biased, as in BatchNorm
        s       = 1 / sqrt(var + eps)
        x_hat_i = (x_i - mu) s
        y_i     = gamma_i x_hat_i + beta_i

    BatchNorm's statistics are one feature's over the batch; these are one sample's over its
    features. So nothing depends on the other samples of the batch: there are no running
    statistics, training and inference (``training=False``) compute the same thing, and a batch
    of one sample works: what recurrent networks (Ba et al.'s case) and transformers need.

    Backward, step by step, given dy_i = dL/dy_i. The parameters serve every sample, so their
    gradients add up over the batch (step 1); every sum over i runs over the sample's n values
    (in BatchNorm: over the batch)::

        1. dbeta_i  = sum over the batch of dy_i        dgamma_i = sum over the batch of dy_i x_hat_i
        2. dx_hat_i = gamma_i dy_i
        3. dvar = sum_i dx_hat_i (x_i - mu) (-1/2) (var + eps)^(-3/2)
        4. dmu  = sum_i dx_hat_i (-s) + dvar (1/n) sum_i -2 (x_i - mu) = -s sum_i dx_hat_i
        5. dx_i = dx_hat_i s + dvar 2 (x_i - mu) / n + dmu / n

    Collected, with x_i - mu = x_hat_i / s::

        dx_i = s (dx_hat_i - (1/n) sum_j dx_hat_j - x_hat_i (1/n) sum_j dx_hat_j x_hat_j)

    Unlike BatchNorm, gamma differs from one term of the sum to the next (one per feature), so
    the sums are of gamma_j dy_j and do not reduce to gamma dbeta and gamma dgamma.

    The code is GroupNorm's with one group (groupnorm.py, where the steps are written for groups
    of channels and the way the code computes them is explained): rows are n channels of one
    value each.
    """

    def __init__(self, eps=1e-5, **unknown):
        Layer.__init__(self, **unknown)     # not GroupNorm's, which needs groups and whose messages say "GroupNorm"
        self.eps = check_real("LayerNorm", "eps", eps, 0, low_open=True, hint=" The usual value is 1e-5.")
        self.groups = 1
        self.X_hat = None   # the normalized input of the last training forward, for backward

    def get_config(self):
        return {"eps": self.eps}

    def build(self, input_shape, rng, dtype):
        Layer.build(self, input_shape, rng, dtype)   # GroupNorm.build takes images only
        if isinstance(input_shape, numbers.Integral):
            channels, values_per_channel = int(input_shape), 1               # rows: (batch, n)
        elif len(input_shape) == 3:
            channels, height, width = (int(n) for n in input_shape)          # images: (batch, C, H, W)
            values_per_channel = height * width
        else:
            raise ShapeError(f"LayerNorm takes rows (an int width) or images (channels, height, width), "
                             f"received {tuple(input_shape)}.")
        self.set_groups(channels, 1, values_per_channel, dtype)
