"""How fast are Conv2D, MaxPool2D and Flatten, layer by layer, at the benchmark CNN's shapes?

    python examples/bench_conv_layers.py                  # batch 100 and 32, float32
    python examples/bench_conv_layers.py --alternatives   # also the designs that were not chosen
    python examples/bench_conv_layers.py --quick          # a smoke test

The network: (1, 20, 20) images, Conv2D(8, 3, padding=1)-BN-relu-MaxPool2D(2)-Conv2D(16, 3,
padding=1)-BN-relu-MaxPool2D(2)-Flatten-Dense(10)-BN-softmax. Each row times one layer's
training forward and its backward, in milliseconds, the median of many repetitions taken in
turns. The first Conv2D is the model's first layer: its backward skips dX (needs_input_grad is
False), as in fit. With PyTorch installed, torch.nn.functional does the same work alongside.
The machine may be shared: compare figures from one run, and rerun when they look odd.
"""

import argparse
import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from deeplearner import Conv2D, Flatten, MaxPool2D

# name, layer, input shape of one sample, is the model's first layer
LAYERS = [("conv1 8x3x3", lambda: Conv2D(8, 3, padding=1), (1, 20, 20), True),
          ("maxpool1 2x2", lambda: MaxPool2D(2), (8, 20, 20), False),
          ("conv2 16x3x3", lambda: Conv2D(16, 3, padding=1), (8, 10, 10), False),
          ("maxpool2 2x2", lambda: MaxPool2D(2), (16, 10, 10), False),
          ("flatten", Flatten, (16, 5, 5), False)]


def median_ms(functions, reps):
    """{name: median milliseconds} for functions called in turns, so a noisy spell hits them all."""
    times = {name: [] for name in functions}
    for function in functions.values():
        function()                                   # warm up: caches, allocator, BLAS threads
    for _ in range(reps):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: 1e3 * float(np.median(t)) for name, t in times.items()}


def ours(make, shape, first, batch, rng):
    layer = make()
    layer.build(shape, rng, np.float32)
    layer.needs_input_grad = not first
    X = rng.standard_normal((batch, *shape)).astype(np.float32)
    dY = rng.standard_normal(layer.forward(X).shape).astype(np.float32)
    return {"forward": lambda: layer.forward(X, training=True),
            "backward": lambda: layer.backward(dY)}      # the cache of the last forward is reused


def theirs(torch, name, shape, first, batch):
    F = torch.nn.functional
    X = torch.randn(batch, *shape, requires_grad=not first)
    if name.startswith("conv"):
        W = torch.randn(int(name[5:].split("x")[0]), shape[0], 3, 3, requires_grad=True)
        b = torch.zeros(W.shape[0], requires_grad=True)
        inputs, apply = [W, b] + ([] if first else [X]), lambda: F.conv2d(X, W, b, padding=1)
    elif name.startswith("maxpool"):
        inputs, apply = [X], lambda: F.max_pool2d(X, 2)
    else:
        inputs, apply = [X], lambda: X.flatten(1)
    Y = apply()
    dY = torch.randn_like(Y)
    return {"forward": apply,
            "backward": lambda: torch.autograd.grad(Y, inputs, dY, retain_graph=True)}


def alternatives(batch, reps, rng):
    """The designs measured against the chosen ones; each pair computes the same numbers."""
    X1 = rng.standard_normal((batch, 1, 22, 22)).astype(np.float32)       # conv1's padded input
    W1 = rng.standard_normal((8, 1, 3, 3)).astype(np.float32)
    X2 = rng.standard_normal((batch, 8, 10, 10)).astype(np.float32)
    dY2 = rng.standard_normal((batch, 16, 10, 10)).astype(np.float32)
    W2 = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)

    def im2col_gemm():          # chosen: (8, 9) @ (batch, 9, 400)
        cols = sliding_window_view(X1, (3, 3), axis=(2, 3)).transpose(0, 1, 4, 5, 2, 3).reshape(batch, 9, 400)
        return W1.reshape(8, 9) @ cols

    def nine_shifted_slices():  # Y = sum_{p, q} W[:, 0, p, q] * X shifted by (p, q)
        Y = np.zeros((batch, 8, 20, 20), np.float32)
        for p in range(3):
            for q in range(3):
                Y += W1[:, 0, p, q, None, None] * X1[:, :, p:p + 20, q:q + 20]
        return Y

    def col2im_channels_first():    # dcols[n] = W2^T dY[n]; dXp[n, c, i + p, j + q] += dcols[n, c, p, q, i, j]
        dcols = (W2.reshape(16, 72).T @ dY2.reshape(batch, 16, 100)).reshape(batch, 8, 3, 3, 10, 10)
        dXp = np.zeros((batch, 8, 12, 12), np.float32)
        for p in range(3):
            for q in range(3):
                dXp[:, :, p:p + 10, q:q + 10] += dcols[:, :, p, q]
        return dXp[:, :, 1:11, 1:11]

    def col2im_batch_last_one_gemm():   # one (72, 16) @ (16, 100 batch) product, then adds of rows of w_out*batch
        dY_t = dY2.transpose(1, 2, 3, 0).reshape(16, -1)
        d = (W2.transpose(1, 2, 3, 0).reshape(-1, 16) @ dY_t).reshape(8, 3, 3, 10, 10, batch)
        dXp = np.zeros((8, 12, 12, batch), np.float32)
        for p in range(3):
            for q in range(3):
                dXp[:, p:p + 10, q:q + 10] += d[:, p, q]
        return np.ascontiguousarray(dXp[:, 1:11, 1:11].transpose(3, 0, 1, 2))

    conv2 = Conv2D(16, 3, padding=1)
    conv2.build((8, 10, 10), rng, np.float32)
    conv2.params["W"][...] = W2

    pool = MaxPool2D(2)
    pool.build((8, 10, 10), rng, np.float32)
    dYp = rng.standard_normal((batch, 8, 5, 5)).astype(np.float32)

    def pool_backward_slices():     # chosen: four strided writes of dY * first-maximum mask
        return pool.backward(dYp)

    def pool_backward_whole_mask():  # the prototype's: repeat Y over each window, one mask of X's size
        Y = X2.reshape(batch, 8, 5, 2, 5, 2).max(axis=(3, 5))
        mask = X2 == Y.repeat(2, axis=2).repeat(2, axis=3)
        return mask * dYp.repeat(2, axis=2).repeat(2, axis=3)

    pool.forward(X2, training=True)
    return median_ms({
        "conv1 forward: im2col + GEMM (chosen)": im2col_gemm,
        "conv1 forward: 9 shifted slices * W": nine_shifted_slices,
        "conv2 dX: pixel GEMMs + col2im batch last (chosen)": lambda: conv2._col2im(dY2),
        "conv2 dX: image GEMMs + col2im channels first": col2im_channels_first,
        "conv2 dX: one GEMM + col2im batch last": col2im_batch_last_one_gemm,
        "maxpool 8x10x10 backward: strided slices (chosen)": pool_backward_slices,
        "maxpool 8x10x10 backward: mask of X's size": pool_backward_whole_mask,
        "padding: np.pad": lambda: np.pad(X2, ((0, 0), (0, 0), (1, 1), (1, 1))),
        "padding: zeros and a copy (chosen)": lambda: np.zeros((batch, 8, 12, 12), np.float32).__setitem__(
            (slice(None), slice(None), slice(1, 11), slice(1, 11)), X2),
    }, reps)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[100, 32])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="5 repetitions: a smoke test")
    parser.add_argument("--alternatives", action="store_true", help="also time the designs not chosen")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even when it is installed")
    args = parser.parse_args(argv)
    reps = 5 if args.quick else args.reps
    try:
        import torch
    except ImportError:
        torch = None
    torch = None if args.no_torch else torch
    rng = np.random.default_rng(0)
    for batch in args.batch:
        print(f"\nbatch {batch}, float32, ms (median of {reps})"
              + (f"; torch {torch.__version__} with {torch.get_num_threads()} threads" if torch else ""))
        print(f"{'layer':14} {'input':>16} {'forward':>8} {'backward':>9}"
              + (f" {'torch fwd':>10} {'torch bwd':>10}" if torch else ""))
        for name, make, shape, first in LAYERS:
            row = median_ms(ours(make, shape, first, batch, rng), reps)
            line = f"{name:14} {str((batch, *shape)):>16} {row['forward']:8.3f} {row['backward']:9.3f}"
            if torch:
                time.sleep(0.2)      # let NumPy's BLAS threads stop spinning before torch's start
                row = median_ms(theirs(torch, name, shape, first, batch), reps)
                line += f" {row['forward']:10.3f} {row['backward']:10.3f}"
                time.sleep(0.2)
            print(line + ("   (first layer: no dX)" if first else ""))
        if args.alternatives:
            print(f"\nalternatives, batch {batch}, ms")
            for name, ms in alternatives(batch, reps, rng).items():
                print(f"  {name:52} {ms:7.3f}")


if __name__ == "__main__":
    main()
