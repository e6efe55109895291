"""The CNN workload of the docs' Images page: deeplearner's fit against PyTorch's eager CPU loop.

    python examples/benchmark_cnn.py                 # batch 100 and 32, the ResNet at 100, a layer-by-layer breakdown
    python examples/benchmark_cnn.py --quick         # a smoke test, seconds
    python examples/benchmark.py                     # runs this too, beside the MLP workload

The network, on 4000 images of shape (1, 20, 20) in float32, with one validation pass over 1000
images per epoch and SGD(learning_rate=0.1, momentum=0.9)::

    Conv2D(8, 3, padding=1) - BatchNorm - relu - MaxPool2D(2)      (1, 20, 20) -> (8, 10, 10)
    Conv2D(16, 3, padding=1) - BatchNorm - relu - MaxPool2D(2)     (8, 10, 10) -> (16, 5, 5)
    Flatten - Dense(10) - BatchNorm - softmax                      400 -> 10

The ResNet workload is the 8-layer residual network of examples/resnet_depth.py (docs/resnet.md),
on the same images at batch 100::

    Conv2D(8, 3, padding=1) - BatchNorm - relu                                 (1, 20, 20) -> (8, 20, 20)
    Residual(conv 8 - BN - relu - conv 8 - BN) - relu                          (8, 20, 20)
    Residual(conv 16 stride 2 - BN - relu - conv 16 - BN, shortcut 1x1 - BN) - relu  -> (16, 10, 10)
    Residual(conv 16 stride 2 - BN - relu - conv 16 - BN, shortcut 1x1 - BN) - relu  -> (16, 5, 5)
    GlobalAvgPool2D - Dense(10) - softmax                                      16 -> 10

PyTorch runs the same network from the same initial weights (Conv2D's W has PyTorch's layout),
shuffling every epoch like fit; a Residual block becomes a module that returns P(X) + F(X).
The measuring rules are benchmark.py's: contestants alternate in a rotating order, each timed
block starts with a pause and an untimed epoch, figures are medians.

On two cores fit splits each batch between two threads (deeplearner/parallel/replicas.py) when that
is faster; "deeplearner float32, 1 thread" shows the same fit with threads=1.

The breakdown times every layer's forward and backward inside deeplearner's own fit (a timer
around each call, so the sum is a little above an untimed epoch); "rest" is what the epoch spent
outside the layers: the loss, the optimizer, shuffling, the bookkeeping of fit. A timer put on a
layer keeps the model on one thread (a replica would call the one timed object), so the
breakdown is that of ``threads=1``.
"""

import argparse
import os
import sys
import time
from collections import defaultdict

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchmark import (SETTLE_SECONDS, load_torch, make_data, measure, print_times, ratio,  # noqa: E402
                       torch_trainer, warn_if_busy)

IMAGE = (1, 20, 20)
TARGETS = {100: 1.25, 32: 1.0}   # the targets: deeplearner / PyTorch, ms per epoch
RESNET_TARGET, RESNET_BATCH = 1.25, 100


def image_data(n_rows, seed=0):
    """benchmark.py's synthetic digits, folded into (n, 1, 20, 20) float32 images."""
    X, y = make_data(n_rows, np.float32, seed)
    return X.reshape(n_rows, *IMAGE), y


def deeplearner_cnn(dtype=np.float32, seed=0):
    from deeplearner import (SGD, Activation, BatchNorm, Conv2D, CrossEntropyForSoftMax, Dense, Flatten, MaxPool2D,
                             Sequential)
    layers = [Conv2D(8, 3, padding=1), BatchNorm(), Activation("relu"), MaxPool2D(2),
              Conv2D(16, 3, padding=1), BatchNorm(), Activation("relu"), MaxPool2D(2),
              Flatten(), Dense(10), BatchNorm(), Activation("softmax")]
    return Sequential(layers, SGD(learning_rate=0.1, momentum=0.9), CrossEntropyForSoftMax(),
                      input_shape=IMAGE, seed=seed, dtype=dtype)


def deeplearner_resnet(dtype=np.float32, seed=0):
    """The residual network of 8 layers with weights from examples/resnet_depth.py, in float32."""
    from resnet_depth import network
    return network("residual", 8, learning_rate=0.1, seed=seed)


def torch_cnn(torch, model):
    """The same network in PyTorch, starting from deeplearner ``model``'s weights."""
    net = torch.nn.Sequential(*torch_layers(torch, model.layers))   # logits: the loss applies the softmax
    return net, torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)


def torch_layers(torch, layers):
    """PyTorch modules computing deeplearner ``layers``, with their weights (the final softmax left out)."""
    nn, modules = torch.nn, []
    for layer in layers:
        kind, shape = type(layer).__name__, layer.inputshape
        if kind == "Conv2D":
            W = layer.params["W"]                                    # (filters, channels, kh, kw)
            top, _, left, _ = layer.pads                             # even padding here: top == bottom
            conv = nn.Conv2d(W.shape[1], W.shape[0], W.shape[2:], stride=layer.stride, padding=(top, left))
            with torch.no_grad():
                conv.weight.copy_(torch.from_numpy(W))
                conv.bias.copy_(torch.from_numpy(layer.params["b"]))
            modules.append(conv)
        elif kind == "BatchNorm":                                    # Keras momentum 0.9 is PyTorch's 0.1
            norm = nn.BatchNorm1d if isinstance(shape, int) else nn.BatchNorm2d
            channels = shape if isinstance(shape, int) else shape[0]
            modules.append(norm(channels, eps=layer.eps, momentum=1 - layer.momentum))
        elif kind == "MaxPool2D":
            modules.append(nn.MaxPool2d(2))
        elif kind == "Flatten":
            modules.append(nn.Flatten())
        elif kind == "GlobalAvgPool2D":
            modules += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]      # (batch, C, 1, 1) -> (batch, C)
        elif kind == "Residual":
            modules.append(torch_residual(torch, torch_layers(torch, layer.layers),
                                          None if layer.shortcut is None else torch_layers(torch, layer.shortcut)))
        elif kind == "Dense":
            linear = nn.Linear(*layer.params["W"].shape)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(layer.params["W"].T.copy()))   # (n_out, n_in)
                linear.bias.copy_(torch.from_numpy(layer.params["b"]))
            modules.append(linear)
        elif layer.name == "relu":
            modules.append(nn.ReLU())
    return modules


def torch_residual(torch, F, P):
    """A PyTorch module returning P(X) + F(X), P the identity when ``P`` is None: deeplearner's Residual."""
    class Residual(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.F = torch.nn.Sequential(*F)
            self.P = None if P is None else torch.nn.Sequential(*P)

        def forward(self, X):
            return (X if self.P is None else self.P(X)) + self.F(X)
    return Residual()


def deeplearner_contestant(X, y, X_valid, y_valid, batchsize, threads=None, make=deeplearner_cnn):
    """fit's loop; threads=None lets fit choose (one thread, or each batch split in two on two cores)."""
    model = make()

    def run(epochs):
        history = model.fit(X, y, X_valid, y_valid, epochs=epochs, batchsize=batchsize, verbose=0, threads=threads)
        return history["val_accuracy"][-1]
    run.model = model
    return run


def torch_contestant(torch, X, y, X_valid, y_valid, batchsize, threads=None, make=deeplearner_cnn):
    """PyTorch's loop; with ``threads`` its intra-op threads are set to that many while it runs."""
    net, optimizer = torch_cnn(torch, make())
    train = torch_trainer(torch, net, optimizer, X, y, X_valid, y_valid, batchsize)
    if threads is None:
        return train

    def run(epochs):
        default = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            return train(epochs)
        finally:
            torch.set_num_threads(default)
    return run


def breakdown(X, y, X_valid, y_valid, batchsize, epochs, make=deeplearner_cnn):
    """ms per epoch in each layer's forward and backward inside fit, and in the rest of the epoch.

    A Residual block is one row: its layers' time, and its own sum.
    """
    model = make()
    model.fit(X, y, X_valid, y_valid, epochs=1, batchsize=batchsize, verbose=0)    # warm up
    spent = defaultdict(float)

    def timed(call, key):
        def run(*args, **kwargs):
            start = time.perf_counter()
            result = call(*args, **kwargs)
            spent[key] += time.perf_counter() - start
            return result
        return run
    for i, layer in enumerate(model.layers):
        for method in ("forward", "backward"):       # an instance attribute: only this model's layer
            setattr(layer, method, timed(getattr(layer, method), (i, layer.name, method)))
    start = time.perf_counter()
    model.fit(X, y, X_valid, y_valid, epochs=epochs, batchsize=batchsize, verbose=0)
    total = (time.perf_counter() - start) / epochs
    rows = [(f"{i:2d} {name}", 1000 * spent[(i, name, "forward")] / epochs,
             1000 * spent[(i, name, "backward")] / epochs)
            for i, name in ((i, layer.name) for i, layer in enumerate(model.layers))]
    rest = 1000 * total - sum(f + b for _, f, b in rows)
    return rows, rest, 1000 * total


def run(quick=False, rounds=None, torch=None, settle=SETTLE_SECONDS, workloads=("cnn", "resnet")):
    """Measure the CNN workload (batch 100 and 32) and the ResNet's; print the tables; return the results."""
    rounds = rounds or (1 if quick else 7)
    n_rows, n_valid = (400, 100) if quick else (4000, 1000)
    X, y = image_data(n_rows + n_valid)
    X, y, X_valid, y_valid = X[:n_rows], y[:n_rows], X[n_rows:], y[n_rows:]
    results = {}
    for name, make, batchsize in (("cnn", deeplearner_cnn, 100), ("cnn", deeplearner_cnn, 32),
                                  ("resnet", deeplearner_resnet, RESNET_BATCH)):
        if name not in workloads:
            continue
        results[f"{name}_batch_{batchsize}"] = workload(name, make, batchsize, (X, y, X_valid, y_valid), quick,
                                                        rounds, torch, settle)
    return results


def workload(name, make, batchsize, data, quick, rounds, torch, settle):
    """One network at one batch size: the contestants' times, the ratio to PyTorch, the breakdown."""
    X, y, X_valid, y_valid = data
    target = TARGETS[batchsize] if name == "cnn" else RESNET_TARGET
    contestants = {"deeplearner fit float32": deeplearner_contestant(X, y, X_valid, y_valid, batchsize, make=make),
                   # What splitting each batch between the threads buys (see deeplearner/parallel/replicas.py).
                   "deeplearner float32, 1 thread": deeplearner_contestant(X, y, X_valid, y_valid, batchsize, 1,
                                                                           make=make)}
    if torch is not None:
        contestants["pytorch float32"] = torch_contestant(torch, X, y, X_valid, y_valid, batchsize, make=make)
        # Not the target's reference, but where the difference comes from: PyTorch's fused
        # kernels on both cores against NumPy's passes on one.
        contestants["pytorch float32, 1 thread"] = torch_contestant(torch, X, y, X_valid, y_valid, batchsize, 1,
                                                                    make=make)
    measured, others = measure(contestants, rounds, 1, settle)
    title = "CNN" if name == "cnn" else "ResNet (8 layers)"
    print_times(f"{title} workload: ms per epoch, batch {batchsize} ({len(X)} images, validation on "
                f"{len(X_valid)})", measured, list(contestants))
    section = {"times": measured, "cpu_share_of_other_processes": others}
    value = ratio(measured, "deeplearner fit float32", "pytorch float32")
    if value is not None:
        section["ratio"] = value
        verdict = "met" if value <= target else "NOT MET"
        print(f"  deeplearner / pytorch = {value:.2f}x (target: at most {target}x, {verdict})")
    warn_if_busy(others)
    rows, rest, total = breakdown(X, y, X_valid, y_valid, batchsize, 1 if quick else 3, make=make)
    print(f"  deeplearner, by layer (ms per epoch, timers on, so on one thread; epoch {total:.1f} ms):")
    for layer, forward, backward in rows:
        print(f"    {layer:18s} forward {forward:7.2f}   backward {backward:7.2f}")
    print(f"    {'rest':18s} {rest:7.2f}  (loss, optimizer, shuffling, fit's bookkeeping)")
    section["breakdown_ms"] = {"layers": [{"layer": n, "forward": f, "backward": b} for n, f, b in rows],
                               "rest": rest, "epoch_with_timers": total}
    return section


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and one round: a smoke test")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per measurement (default 7)")
    parser.add_argument("--no-torch", action="store_true", help="do not import PyTorch even if installed")
    parser.add_argument("--workloads", nargs="+", choices=("cnn", "resnet"), default=("cnn", "resnet"),
                        help="which networks to measure (default: both)")
    args = parser.parse_args(argv)
    torch, note = load_torch(args)
    print(f"PyTorch: {note}")
    return run(args.quick, args.rounds, torch, 0 if args.quick else SETTLE_SECONDS, args.workloads)


if __name__ == "__main__":
    main()
