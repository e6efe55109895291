"""Where BatchNorm breaks, 4: Santurkar et al. (2018), "How Does Batch Normalization Help Optimization?".

    python examples/santurkar_smoothness.py             # 12 fits, 3 to 30 s on 2 cores
    python examples/santurkar_smoothness.py --quick     # 3 fits, 1 short epoch: a smoke test
    python examples/santurkar_smoothness.py --jobs 1    # one fit at a time (the same numbers)

Two questions about why BatchNorm helps, on the seed's network
(Dense(100)-BN-relu-Dense(50)-BN-relu-Dense(10)-BN-softmax), trained on 4000 of the bundled
digits (a stratified split; the other 1000 validate) in batches of 100 with SGD(0.1,
momentum 0.9) for 10 epochs, model seeds 0, 1 and 2:

1. **Is it the internal covariate shift?** The seed notebook (and Ioffe & Szegedy's title) says
   BatchNorm works because it keeps the distribution of each layer's input from moving while
   the layers before it learn. Santurkar et al. put the distribution back in motion: after
   every BatchNorm a ``NoisyShift`` layer (below) multiplies each unit by a random scale and adds
   a random shift, drawn afresh at every training step from the model's generator, so the next
   layer sees an input whose mean and variance jump from step to step ("noisy BatchNorm"). If
   stable input distributions were the point, this network should train as badly as the one
   without BatchNorm. In Santurkar's VGG every BatchNorm feeds a layer; the seed's network also
   has one on its 10 logits, whose output feeds the softmax, so noise there is noise on the loss
   itself rather than on a layer's input. So "noisy BatchNorm" here has the noise after the two
   hidden BatchNorms, and "noisy, logits too" after all three. A LayerMonitor records, every 10
   steps, the percentiles of one unit of the first hidden layer just before its relu (the
   output of the Dense, of its BatchNorm, or of the noise after it: what the relu passes on to
   the second Dense layer) over 500 training images, in training mode.

2. **What does it do instead?** Every 10 steps, on a fresh batch of 100 training images (drawn
   by a generator of its own, so the training run is the one it would be without the probe): the
   gradient g = dL/dW of the loss L at the current weights W (every BatchNorm in training mode,
   as the optimizer sees it), and, for the step sizes eta = 0.05, 0.1, 0.2 and 0.4 (half to four
   times the learning rate, as Santurkar et al. probe theirs), the loss L(W - eta g) and the
   gradient there. Three measures, each over those step sizes: how much the loss varies along the
   step (max - min of L(W - eta g): Santurkar's Figure 4a, "loss landscape"), how much the
   gradient changes (max of ||dL/dW(W - eta g) - g||: Figure 4b, "gradient predictiveness"),
   and the largest ratio ||dL/dW(W - eta g) - g|| / ||eta g|| ("effective beta-smoothness":
   how fast the gradient turns per unit of distance, Figure 4c). Without BatchNorm, and with it.

Santurkar et al. report on VGG and CIFAR-10: noisy BatchNorm trains about as fast as BatchNorm,
though its layers' input distributions are less stable than without BatchNorm at all; and with
BatchNorm the loss changes less along the gradient and the gradient stays more predictive.

The fits run in parallel through joblib, ``--jobs`` at a time (all cores by default), each on one
NumPy thread, so ``--jobs 1`` gives the same numbers; ``with joblib.parallel_config(backend="dask"):``
sends the same sweep to a Dask cluster.
"""

import argparse
import time

import joblib
import numpy as np
from sklearn.model_selection import train_test_split
from terminaltables import AsciiTable
from threadpoolctl import threadpool_limits

from deeplearner import (SGD, Activation, BatchNorm, Callback, CrossEntropyForSoftMax, Dense, Layer, LayerMonitor,
                         Sequential)
from deeplearner.datasets import load_mnist20
from groupnorm_batch_size import DATA_NAME, jobs_count, timing
from train_handwritten import add_plot_argument, figure_path, positive_int

KINDS = ("no BatchNorm", "BatchNorm", "noisy BatchNorm", "noisy, logits too")
NOISY = ("noisy BatchNorm", "noisy, logits too")
STEP_SIZES = (0.05, 0.1, 0.2, 0.4)
LEARNING_RATE, BATCH = 0.1, 100
EVERY = 10                      # steps between two records (2 with --quick)
UNIT = 0                        # the unit of the first hidden layer whose input distribution is shown


class NoisyShift(Layer):
    """Santurkar et al.'s noise after a BatchNorm: each unit scaled and shifted at random, afresh every step.

    Parameters
    ----------
    shift : float >= 0
        Each training forward draws, for each unit j, m_j ~ Uniform(-shift, shift).
    scale : float >= 1
        ... and s_j = scale ** u_j with u_j ~ Uniform(-1, 1): between 1/scale and scale.

    Notes
    -----
    Training, for rows X of shape (batch, n), with m and s of shape (n,) drawn from the model's
    generator once per batch (so every sample of the batch gets the same m and s, and the
    distribution of each unit over the batch gets mean m_j + s_j mean_j and std s_j std_j)::

        Y  = X s + m
        dX = dY s

    At inference the layer is the identity. One draw serves the whole batch, so the layer keeps
    the base class's ``splits_batch = False``: a batch is never cut into parts that would draw
    their own m and s.
    """

    def __init__(self, shift=1.0, scale=2.0):
        super().__init__()
        if not shift >= 0:
            raise ValueError(f"NoisyShift: shift must be >= 0, received shift={shift!r}.")
        if not scale >= 1:
            raise ValueError(f"NoisyShift: scale must be >= 1 (the draws lie between 1/scale and scale), "
                             f"received scale={scale!r}.")
        self.shift, self.scale = float(shift), float(scale)

    def get_config(self):
        return {"shift": self.shift, "scale": self.scale}

    def build(self, input_shape, rng, dtype):
        super().build(input_shape, rng, dtype)
        self.rng = rng                          # the model's generator: its seed fixes every draw
        self.s = None

    def forward(self, X, training=True):
        """X : ndarray of shape (batch, n) -> Y of the same shape."""
        if not training:
            self.s = None
            return X
        n = X.shape[1]
        self.m = self.rng.uniform(-self.shift, self.shift, size=n).astype(X.dtype)        # (n,)
        self.s = (self.scale ** self.rng.uniform(-1, 1, size=n)).astype(X.dtype)          # (n,)
        return X * self.s + self.m                                                         # (batch, n)

    def backward(self, dY):
        """dY : ndarray of shape (batch, n) -> dX of the same shape."""
        return dY if self.s is None else dY * self.s


def build(kind, seed, noise_shift=1.0, noise_scale=2.0):
    """The seed's network, for one of KINDS: a NoisyShift after the hidden BatchNorms, or after all three."""
    layers = []
    for units, activation in ((100, "relu"), (50, "relu"), (10, "softmax")):
        layers.append(Dense(units))
        if kind != "no BatchNorm":
            layers.append(BatchNorm())
        if kind == "noisy, logits too" or (kind == "noisy BatchNorm" and activation != "softmax"):
            layers.append(NoisyShift(noise_shift, noise_scale))
        layers.append(Activation(activation))
    return Sequential(layers, SGD(learning_rate=LEARNING_RATE, momentum=0.9), CrossEntropyForSoftMax(),
                      input_shape=400, seed=seed)


class LossLandscape(Callback):
    """Every ``every`` steps: the loss and gradient along the gradient, on a fresh training batch.

    The probe changes the weights, measures, and puts every parameter and buffer back (BatchNorm's
    running statistics included); it draws its batches from a generator of its own, and the model
    it measures has no random layer, so the run is the one it would be without it.
    """

    def __init__(self, X, y, every, step_sizes, seed):
        self.X, self.y, self.every, self.step_sizes = X, y, every, step_sizes
        self.rng = np.random.default_rng(seed)
        self.step, self.steps = 0, []
        self.loss_range, self.gradient_change, self.beta = [], [], []

    def on_batch_end(self, model, batch, logs):
        self.step += 1
        if self.step % self.every:
            return
        rows = self.rng.choice(len(self.X), size=BATCH, replace=False)
        X, y = self.X[rows], self.y[rows]
        saved = model.get_weights()
        params, grads = model.parameters()
        loss, _ = model.compute_gradients(X, y)
        start = {key: value.copy() for key, value in params.items()}
        g = {key: value.copy() for key, value in grads.items()}
        g_norm = np.sqrt(sum(np.sum(value ** 2) for value in g.values()))
        losses, changes = [loss], []
        for eta in self.step_sizes:
            for key, value in params.items():
                value[...] = start[key] - eta * g[key]                # W - eta g, in place
            losses.append(model.compute_gradients(X, y)[0])
            changes.append(np.sqrt(sum(np.sum((grads[key] - g[key]) ** 2) for key in g)))
        model.set_weights(saved)
        self.steps.append(self.step)
        self.loss_range.append(max(losses) - min(losses))
        self.gradient_change.append(max(changes))
        self.beta.append(max(change / (eta * g_norm) for change, eta in zip(changes, self.step_sizes)))


def fit_one(kind, seed, data, epochs, noise_shift, noise_scale, every=EVERY):
    """Train one network; return its curves, the landscape records and the watched unit's percentiles."""
    X_train, X_valid, y_train, y_valid = data
    start = time.process_time()                      # CPU time: the fit's own work, whatever else runs
    with threadpool_limits(1):                       # one thread for NumPy: the same numbers in any process
        model = build(kind, seed, noise_shift, noise_scale)
        # The first hidden layer just before its relu: the Dense, its BatchNorm, or the noise after it.
        watched = [i for i, layer in enumerate(model.layers) if layer.name == "relu"][0] - 1
        monitor = LayerMonitor(X_train[:500], every=every, layers=[watched])
        callbacks = [monitor]
        landscape = None
        if kind not in NOISY:                       # the noise would make every probe a different function
            landscape = LossLandscape(X_train, y_train, every, STEP_SIZES, seed=1000 + seed)
            callbacks.append(landscape)
        history = model.fit(X_train, y_train, X_valid, y_valid, epochs=epochs, batch_size=BATCH, verbose=0,
                            callbacks=callbacks, threads=1)
        final_train_accuracy = model.evaluate(X_train, y_train, threads=1)[1]
    outputs = monitor.outputs[monitor.name_of(watched)]
    result = {"history": {key: list(value) for key, value in history.items()},
              "train_accuracy": final_train_accuracy, "record_steps": np.asarray(monitor.steps),
              "watched": monitor.name_of(watched),
              "percentiles": {key: np.asarray(outputs[key])
                              for key in ("p15_per_unit", "p50_per_unit", "p85_per_unit")}}
    if landscape is not None:
        result["landscape"] = {"steps": landscape.steps, "loss_range": landscape.loss_range,
                               "gradient_change": landscape.gradient_change, "beta": landscape.beta}
    result["cpu_seconds"] = time.process_time() - start
    return result


def sweep(kinds, seeds, data, epochs, noise_shift, noise_scale, every, jobs):
    """Every (kind, seed) fit, ``jobs`` at a time: {kind: [result per seed]}."""
    configurations = [(kind, seed) for kind in kinds for seed in seeds]
    outputs = joblib.Parallel(n_jobs=jobs)(joblib.delayed(fit_one)(kind, seed, data, epochs, noise_shift,
                                                                   noise_scale, every)
                                           for kind, seed in configurations)
    results = {}
    for (kind, _), output in zip(configurations, outputs):
        results.setdefault(kind, []).append(output)
    return results


def movement(run):
    """How much the watched layer's output moves over training, per unit, averaged over its units.

    The standard deviation, over the records after the first tenth of training (the first epoch of
    10), of each unit's median over the probe; and the same for its spread (p85 - p15). Large: what
    the relu passes on to the next layer moves from step to step.
    """
    p = run["percentiles"]
    later = slice(len(p["p50_per_unit"]) // 10, None)
    median = p["p50_per_unit"][later]
    spread = (p["p85_per_unit"] - p["p15_per_unit"])[later]
    return float(median.std(axis=0).mean()), float(spread.std(axis=0).mean())


def results_table(kinds, results, epochs):
    def per_seed(values, form="{:.3f}"):
        return " / ".join(form.format(value) for value in values)

    rows = [["", *kinds]]
    lines = [("fit's training loss, epoch 1", lambda run: run["history"]["loss"][0]),
             (f"fit's training loss, epoch {epochs}", lambda run: run["history"]["loss"][-1]),
             ("train accuracy at the end, no noise", lambda run: run["train_accuracy"]),
             ("val accuracy, epoch 1", lambda run: run["history"]["val_accuracy"][0]),
             (f"val accuracy, epoch {epochs}", lambda run: run["history"]["val_accuracy"][-1])]
    if epochs == 1:
        del lines[4], lines[1]                    # the last epoch is the first: no rows twice
    for name, value in lines:
        rows.append([name] + [per_seed([value(run) for run in results[kind]]) for kind in kinds])
    rows.append(["hidden unit before relu: movement of the median"]
                + [per_seed([movement(run)[0] for run in results[kind]], "{:.2f}") for kind in kinds])
    rows.append(["hidden unit before relu: movement of p85 - p15"]
                + [per_seed([movement(run)[1] for run in results[kind]], "{:.2f}") for kind in kinds])
    for name, key in (("loss variation along the step (median)", "loss_range"),
                      ("gradient change along the step (median)", "gradient_change"),
                      ("effective beta-smoothness (median)", "beta"),
                      ("effective beta-smoothness (max)", "beta")):
        reduce = np.max if name.endswith("(max)") else np.median
        rows.append([name] + [per_seed([reduce(run["landscape"][key]) for run in results[kind]], "{:.3g}")
                              if "landscape" in results[kind][0] else "-" for kind in kinds])
    table = AsciiTable(rows, title=" One value per seed ")
    table.justify_columns = {i: "right" for i in range(1, len(kinds) + 1)}
    return table.table


def plot(kinds, results, args, n_train, path):
    from matplotlib.figure import Figure   # only now: matplotlib is an optional dependency

    colors = {"no BatchNorm": "C1", "BatchNorm": "C0", "noisy BatchNorm": "C3", "noisy, logits too": "C5"}
    figure = Figure(figsize=(18, 8.6), layout="constrained")
    (loss_panel, change_panel, beta_panel, valid_panel), inputs = figure.subplots(2, 4)
    for panel, key, title, label in (
            (loss_panel, "loss_range", "(a) how much the loss varies along the step",
             "max - min over eta of L(W - eta g)"),
            (change_panel, "gradient_change", "(b) how much the gradient changes along the step",
             "max over eta of ||grad L(W - eta g) - g||"),
            (beta_panel, "beta", "(c) effective beta-smoothness",
             "max over eta of ||grad L(W - eta g) - g|| / ||eta g||")):
        for kind in kinds:
            if "landscape" not in results[kind][0]:
                continue
            values = np.array([run["landscape"][key] for run in results[kind]])      # (seeds, records)
            steps = results[kind][0]["landscape"]["steps"]
            panel.plot(steps, np.median(values, axis=0), color=colors[kind], label=kind)
            panel.fill_between(steps, values.min(axis=0), values.max(axis=0), color=colors[kind], alpha=0.2,
                               linewidth=0)
        panel.set(yscale="log", xlabel="training step", ylabel=label, title=title)
        panel.grid(alpha=0.3, which="both")
        panel.legend(fontsize="small")
    for kind in kinds:
        curves = np.array([run["history"]["val_accuracy"] for run in results[kind]])   # (seeds, epochs)
        epochs = np.arange(1, curves.shape[1] + 1)
        valid_panel.plot(epochs, np.median(curves, axis=0), color=colors[kind], label=kind, marker="o",
                         markersize=3)
        valid_panel.fill_between(epochs, curves.min(axis=0), curves.max(axis=0), color=colors[kind], alpha=0.2,
                                 linewidth=0)
    valid_panel.set(xlabel="epoch", ylabel="validation accuracy (no noise at inference)",
                    title="(d) how fast each network learns")
    valid_panel.xaxis.get_major_locator().set_params(integer=True)
    valid_panel.grid(alpha=0.3)
    valid_panel.legend(fontsize="small", loc="lower right")
    for panel, kind, letter in zip(inputs, kinds, "efgh"):
        run = results[kind][0]
        p = run["percentiles"]
        steps = run["record_steps"]
        panel.fill_between(steps, p["p15_per_unit"][:, UNIT], p["p85_per_unit"][:, UNIT], color=colors[kind],
                           alpha=0.3, linewidth=0, label="15th to 85th percentile")
        panel.plot(steps, p["p50_per_unit"][:, UNIT], color=colors[kind], linewidth=1, label="median")
        panel.set(xlabel="training step", title=f"({letter}) {kind}: layer {run['watched']}")
        panel.grid(alpha=0.3)
    inputs[0].set_ylabel(f"unit {UNIT} of the first hidden layer, before its relu,\nover 500 training images "
                         f"(seed 0)")
    inputs[0].legend(fontsize="small", loc="upper left")
    low = min(panel.get_ylim()[0] for panel in inputs)
    high = max(panel.get_ylim()[1] for panel in inputs)
    for panel in inputs:
        panel.set_ylim(low, high)                 # the same scale, so the movement can be compared
    figure.suptitle(f"Santurkar et al. (2018) at small scale: the seed's network on {n_train} bundled digits, "
                    f"SGD({LEARNING_RATE:g}, momentum 0.9), batches of {BATCH}; (a-c) at eta = "
                    f"{', '.join(f'{eta:g}' for eta in STEP_SIZES)}, on a fresh batch every {EVERY} steps\n"
                    f"noise: shift ~ U(-{args.noise_shift:g}, {args.noise_shift:g}), scale in "
                    f"[1/{args.noise_scale:g}, {args.noise_scale:g}], per unit, fresh every step; "
                    f"(a-d) lines: median of {len(results[kinds[0]])} seeds, bands: lowest to highest",
                    fontsize="medium")
    figure.savefig(path, dpi=100)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Santurkar et al. (2018): noisy BatchNorm, and the loss and "
                                                 "gradient along the step with and without BatchNorm.")
    parser.add_argument("--epochs", type=positive_int, default=10, help="epochs per fit (default: 10)")
    parser.add_argument("--seeds", type=positive_int, default=3, help="model seeds 0, 1, ... (default: 3)")
    parser.add_argument("--noise-shift", type=float, default=1.0,
                        help="noisy BatchNorm's shift: each unit's m ~ Uniform(-shift, shift) (default: 1)")
    parser.add_argument("--noise-scale", type=float, default=2.0,
                        help="noisy BatchNorm's scale: each unit's s between 1/scale and scale (default: 2)")
    parser.add_argument("--jobs", type=jobs_count, default=-1,
                        help="fits run at once, through joblib (default: -1, every core)")
    add_plot_argument(parser, "santurkar_smoothness.png")
    parser.add_argument("--quick", action="store_true",
                        help="one seed, 1 epoch of 400 images, a record every 2 steps: a smoke test")
    args = parser.parse_args(argv)
    args.plot = figure_path(args.plot, args.quick, "santurkar_smoothness.png")
    if args.quick:
        seeds, args.epochs, n_train, n_valid, every = (0,), 1, 400, 200, 2
    else:
        seeds, n_train, n_valid, every = tuple(range(args.seeds)), 4000, 1000, EVERY
    X, y = load_mnist20()                                            # (5000, 400), sorted by digit
    data = train_test_split(X, y, train_size=n_train, test_size=n_valid, stratify=y, random_state=0)
    print(f"data: {DATA_NAME}; {n_train} to train, {n_valid} to validate (stratified); the seed's network, "
          f"{args.epochs} epoch{'s' * (args.epochs > 1)} of batches of {BATCH}, SGD({LEARNING_RATE:g}, momentum "
          f"0.9), seeds "
          f"{', '.join(map(str, seeds))}; {len(KINDS) * len(seeds)} fits, --jobs {args.jobs}")
    start = time.perf_counter()
    results = sweep(KINDS, seeds, data, args.epochs, args.noise_shift, args.noise_scale, every, args.jobs)
    wall = time.perf_counter() - start
    print(results_table(KINDS, results, args.epochs))
    cpu_seconds = sum(run["cpu_seconds"] for runs in results.values() for run in runs)
    print(timing(len(KINDS) * len(seeds), wall, cpu_seconds, args.jobs))
    plot(KINDS, results, args, n_train, args.plot)
    print(f"figure saved to {args.plot}")
    return results


if __name__ == "__main__":
    main()
