"""Group normalization (Wu & He 2018, https://arxiv.org/abs/1803.08494) and instance normalization
(Ulyanov, Vedaldi & Lempitsky 2016, https://arxiv.org/abs/1607.08022): statistics per sample.

GroupNorm holds the computation; InstanceNorm (here) and LayerNorm (layernorm.py) are GroupNorm
with one channel per group and with a single group.
"""

import numbers

import numpy as np

from ..validation import check_real
from .base import Layer, ShapeError, as_tuple, kept_array
from .batchnorm import channel_dots, channel_sums


class GroupNorm(Layer):
    """Normalize each sample's groups of channels over their own values, then scale and shift each channel.

    Parameters
    ----------
    groups : int >= 1
        G, the number of groups; it must divide the number of channels C. Group g holds the C/G
        consecutive channels g C/G .. (g + 1) C/G - 1. ``GroupNorm(1)`` is LayerNorm on images,
        ``GroupNorm(C)`` is InstanceNorm. Wu & He use 32 groups.
    eps : float > 0
        Added to the variance before the square root, so a constant group does not divide by 0.

    Attributes
    ----------
    params : {"gamma", "beta"}, each of shape (C,)
        One scale and one shift per channel, as in PyTorch's ``nn.GroupNorm(groups, C)`` (its
        ``weight`` and ``bias``). They start at ones and zeros.

    Notes
    -----
    Images only: X of shape (batch, C, H, W). For one sample and one group, let x_1 .. x_M be the
    M = (C/G) H W values of the group's channels, and gamma_i, beta_i the parameters of value i's
    channel::

        mu      = (1/M) sum_i x_i
        var     = (1/M) sum_i (x_i - mu)^2          biased, as in BatchNorm
        s       = 1 / sqrt(var + eps)
        x_hat_i = (x_i - mu) s
        y_i     = gamma_i x_hat_i + beta_i

    The statistics are the sample's own: nothing is averaged over the batch, so there are no
    running statistics, training and inference (``training=False``) compute the same thing, and
    a batch of one sample works. Wu & He's point: the result does not depend on the batch size.

    Backward, step by step, given dy_i = dL/dy_i. As in BatchNorm (batchnorm.py), except that
    every sum over i runs over the M values of one sample's group, not over one channel across
    the batch::

        1. dbeta_c  = sum of dy over the batch and the channel's H W pixels
           dgamma_c = the same sum of dy x_hat      (parameters are shared by every sample)
        2. dx_hat_i = gamma_i dy_i
        3. var reaches L only through every x_hat_i = (x_i - mu) s:
               dvar = sum_i dx_hat_i (x_i - mu) (-1/2) (var + eps)^(-3/2)
        4. mu reaches L through every x_hat_i, and through var:
               dmu  = sum_i dx_hat_i (-s) + dvar (1/M) sum_i -2 (x_i - mu) = -s sum_i dx_hat_i
           (the deviations x_i - mu sum to 0)
        5. x_i reaches L through x_hat_i, through var and through mu:
               dx_i = dx_hat_i s + dvar 2 (x_i - mu) / M + dmu / M

    Collected: write x_i - mu = x_hat_i / s in step 3, so dvar 2 (x_i - mu) / M = -(s / M)
    x_hat_i sum_j dx_hat_j x_hat_j::

        dx_i = s (dx_hat_i - a - x_hat_i b),   a = (1/M) sum_j dx_hat_j,   b = (1/M) sum_j dx_hat_j x_hat_j

    What else differs from BatchNorm: there, one gamma serves the whole sum, so a = gamma dbeta / M
    and b = gamma dgamma / M. Here a group spans C/G channels, each with its own gamma, so a and b
    are sums of gamma_c dy and are computed per (sample, group).

    The code computes these steps as written: dx_hat = gamma dy, then a and b as the means of
    dx_hat and dx_hat x_hat over each row of the (batch, G, M) view, then dx. Of the arrays as
    large as X it makes one per call, the one it returns; X_hat and the product x_hat b live in
    arrays the layer keeps from one batch to the next (fresh ones would cost page faults).
    """

    def __init__(self, groups, eps=1e-5, **unknown):
        super().__init__(**unknown)   # Layer refuses Keras's axis=, epsilon= and the like, naming the fix
        self.groups = check_real("GroupNorm", "groups", groups, 1, integer=True,
                                 hint=" Example: GroupNorm(4) divides the channels into 4 groups.")
        self.eps = check_real("GroupNorm", "eps", eps, 0, low_open=True, hint=" The usual value is 1e-5.")
        self.X_hat = None   # the normalized input of the last training forward, for backward

    def get_config(self):
        return {"groups": self.groups, "eps": self.eps}

    def build(self, input_shape, rng, dtype):
        super().build(input_shape, rng, dtype)
        if isinstance(input_shape, numbers.Integral) or len(input_shape) != 3:
            received = (f"flat rows of {input_shape} features" if isinstance(input_shape, numbers.Integral)
                        else f"samples of shape {tuple(input_shape)}")
            raise ShapeError(f"{self.name} takes images (channels, height, width), received {received}. For "
                             f"rows use LayerNorm(), which normalizes each sample over its features.")
        channels, height, width = (int(n) for n in input_shape)
        self.set_groups(channels, self.groups_for(channels), height * width, dtype)

    def groups_for(self, channels):
        """The number of groups for ``channels`` channels: ``groups``, once it is checked to divide them."""
        G = self.groups
        if channels % G != 0:
            divisors = [k for k in range(1, channels + 1) if channels % k == 0]
            below = max(k for k in divisors if k < G)
            above = [k for k in divisors if k > G]
            nearest = f"groups={below} or groups={above[0]}" if above else f"groups={below}"
            raise ShapeError(f"GroupNorm: groups={G} does not divide the {channels} channels of its input (each "
                             f"group takes channels/groups consecutive channels). Use {nearest}, the nearest "
                             f"group counts that divide {channels}, or give the layer before it a multiple of "
                             f"{G} channels.")
        return G

    def set_groups(self, channels, groups, values_per_channel, dtype):
        """Create gamma and beta for ``channels`` channels in ``groups`` groups of ``values_per_channel`` values each.

        Called by ``build`` (LayerNorm's and InstanceNorm's too): rows are ``channels`` features
        with 1 value each, images C channels with H W values each.
        """
        self.channels, self.n_groups, self.values_per_channel = channels, groups, values_per_channel
        M = channels // groups * values_per_channel
        if M < 2:
            unit = "sample" if groups == 1 else "channel of each sample"    # M = 1: one value per channel
            raise ShapeError(f"{self.name} would normalize each {unit} over a single value: the output would be "
                             f"beta whatever the input (a value minus its own mean is 0). Normalize over more "
                             f"values (for images: fewer groups, e.g. LayerNorm(), or before a global pooling "
                             f"rather than after it), or remove the layer.")
        self.params = {"gamma": np.ones(channels, dtype=dtype), "beta": np.zeros(channels, dtype=dtype)}
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def _views(self, A):
        """A : (batch, n) or (batch, C, H, W) -> the same data as (batch, G, C/G, L), a view; L = 1 for rows."""
        return A.reshape(len(A), self.n_groups, self.channels // self.n_groups, self.values_per_channel)

    def forward(self, X, training=True):
        """X : ndarray of shape (batch, C, H, W) (LayerNorm: or (batch, n)) -> Y of X's shape."""
        X4 = self._views(X)                                          # (batch, G, C/G, L)
        batch, G, per_group, L = X4.shape
        M = per_group * L
        Xg = X4.reshape(batch, G, M)                                 # (batch, G, M): a group's values in one row
        # Plain: mu = Xg.mean(axis=2); as one matrix-vector product, which BLAS does in one read.
        mu = (Xg.reshape(batch * G, M) @ np.ones(M, dtype=X.dtype)).reshape(batch, G) / M   # (batch, G)
        # Training keeps X_hat for backward, in an array kept from the last batch of this shape;
        # inference keeps nothing, and its X - mu becomes Y.
        centered = np.subtract(Xg, mu[:, :, None], out=kept_array(self, "_X_hat_buffer", Xg) if training else None)
        var = np.einsum("ngm,ngm->ng", centered, centered) / M      # (batch, G), biased; plain: (centered**2).mean(2)
        inv_std = 1.0 / np.sqrt(var + self.eps)                      # (batch, G): s
        centered4 = centered.reshape(X4.shape)                       # (batch, G, C/G, L), a view
        gamma = self.params["gamma"].reshape(G, per_group, 1)        # (G, C/G, 1): one per channel
        if training:
            centered *= inv_std[:, :, None]                          # in place: X_hat = (X - mu) / sqrt(var + eps)
            self.X_hat, self.inv_std = centered4, inv_std
            Y = self.X_hat * gamma                                   # (batch, G, C/G, L), a new array
        else:
            self.X_hat = None   # a backward now would mix this batch with an earlier one: refused
            # Plain: Y = gamma (X - mu) s + beta. s gamma_c is one number per (sample, channel),
            # so for images one multiplication of the large array does both.
            Y = np.multiply(centered4, inv_std[:, :, None, None] * gamma, out=centered4)
        Y += self.params["beta"].reshape(G, per_group, 1)            # (G, C/G, 1) broadcast, in place
        return Y.reshape(X.shape)                                    # back to X's shape

    def backward(self, dY):
        """dY : ndarray of X's shape -> dX of the same shape (None if ``needs_input_grad`` is False)."""
        if self.X_hat is None:
            raise RuntimeError(f"{self.name}.backward needs a forward(X, training=True) first: a forward in "
                               f"inference mode (training=False) keeps nothing to back-propagate through.")
        X_hat = self.X_hat                                           # (batch, G, C/G, L)
        batch, G, per_group, L = X_hat.shape
        M = per_group * L
        dY3, X_hat3 = dY.reshape(batch, -1, L), X_hat.reshape(batch, -1, L)   # (batch, C, L), views
        channel_sums(dY3, out=self.grads["beta"])                    # dbeta: (C,); plain: dY3.sum(axis=(0, 2))
        channel_dots(dY3, X_hat3, out=self.grads["gamma"])           # dgamma: (C,); plain: (dY3 * X_hat3).sum((0, 2))
        if not self.needs_input_grad:
            return None   # the model's first layer: nothing reads the gradient for the data
        gamma = self.params["gamma"].reshape(G, per_group, 1)        # (G, C/G, 1)
        dX = dY.reshape(X_hat.shape) * gamma                         # dx_hat: (batch, G, C/G, L), returned as dX
        dX_g, X_hat_g = dX.reshape(batch * G, M), X_hat.reshape(batch * G, M)   # (batch G, M): a row per group
        a = dX_g @ np.ones(M, dtype=dX.dtype) / M                    # (batch G,): plain: dX_g.mean(axis=1)
        b = np.einsum("rm,rm->r", dX_g, X_hat_g) / M                 # (batch G,): plain: (dX_g * X_hat_g).mean(1)
        # dX = s (dx_hat - a - x_hat b), inside dX: x_hat b + a goes to a kept array, not a new one.
        correction = np.multiply(X_hat_g, b[:, None], out=kept_array(self, "_correction_buffer", X_hat_g))
        correction += a[:, None]
        dX_g -= correction
        dX_g *= self.inv_std.reshape(-1, 1)                          # (batch G, 1): times s, one per row
        return dX.reshape(dY.shape)                                  # back to dY's shape

    def onnx_nodes(self, builder, X):
        """ONNX export (see deeplearner/export/onnx.py): the forward above, with ops that have float64 kernels.

        X (batch, *inputshape) is reshaped to (batch, G, M), normalized over its last axis with
        ReduceMean, Sub, Mul, Add, Sqrt and Div (eps a tensor constant in the file's dtype, not a
        float32 attribute), reshaped back and scaled and shifted per channel: gamma and beta as
        (C,) for rows, (C, 1, 1) for images. Not ONNX's GroupNormalization (opset 18) or
        LayerNormalization, whose epsilon is a float32 attribute.
        """
        shape = as_tuple(self.inputshape)
        groups = builder.node("Reshape", [X, builder.node("Constant", [], value_ints=[0, self.n_groups, -1])])
        mean = builder.node("ReduceMean", [groups], axes=[2])                        # (batch, G, 1)
        centered = builder.node("Sub", [groups, mean])                               # (batch, G, M)
        var = builder.node("ReduceMean", [builder.node("Mul", [centered, centered])], axes=[2])
        std = builder.node("Sqrt", [builder.node("Add", [var, builder.constant("eps", self.eps)])])
        X_hat = builder.node("Div", [centered, std])                                 # (batch, G, M)
        X_hat = builder.node("Reshape", [X_hat, builder.node("Constant", [], value_ints=[0, *shape])])
        per_channel = (-1,) + (1,) * (len(shape) - 1)                                # (-1,) or (-1, 1, 1)
        Y = builder.node("Mul", [X_hat, builder.constant("gamma", self.params["gamma"].reshape(per_channel))])
        return builder.node("Add", [Y, builder.constant("beta", self.params["beta"].reshape(per_channel))])


class InstanceNorm(GroupNorm):
    """Normalize each channel of each image over its height and width, then scale and shift it.

    GroupNorm with one channel per group, as PyTorch's ``nn.InstanceNorm2d(C, affine=True)``
    (whose default keeps no running statistics either). Ulyanov et al. introduced it for style
    transfer, where each image's contrast should not depend on the others in the batch.

    Parameters
    ----------
    eps : float > 0
        Added to the variance before the square root.

    Attributes
    ----------
    params : {"gamma", "beta"}, each of shape (C,), starting at ones and zeros.

    Notes
    -----
    For one sample n and channel c, with x_1 .. x_M its M = H W pixels::

        mu = (1/M) sum_i x_i,   var = (1/M) sum_i (x_i - mu)^2 (biased),   s = 1 / sqrt(var + eps)
        x_hat_i = (x_i - mu) s,   y_i = gamma_c x_hat_i + beta_c

    Backward: GroupNorm's steps (groupnorm.py), with every sum over one sample's channel. One
    gamma serves the whole sum, as in BatchNorm, so a = gamma_c mean_i dy_i and b = gamma_c
    mean_i dy_i x_hat_i, and the collected form is BatchNorm's, per (sample, channel)::

        dx_i = gamma_c s (dy_i - mean_j dy_j - x_hat_i mean_j dy_j x_hat_j)

    A channel of one pixel (H = W = 1, e.g. after a global pooling) has nothing to normalize
    over: build refuses it.
    """

    def __init__(self, eps=1e-5, **unknown):
        Layer.__init__(self, **unknown)     # not GroupNorm's, which needs groups and whose messages say "GroupNorm"
        self.eps = check_real("InstanceNorm", "eps", eps, 0, low_open=True, hint=" The usual value is 1e-5.")
        self.groups = None       # one per channel: known at build
        self.X_hat = None

    def get_config(self):
        return {"eps": self.eps}

    def groups_for(self, channels):
        return channels
