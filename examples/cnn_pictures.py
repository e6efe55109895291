"""Pictures of what the CNN of cnn_handwritten.py learns: its filters before and after training, feature maps, saliency.

    python examples/cnn_pictures.py                   # 30 epochs on the bundled digits; PNGs into docs/
    python examples/cnn_pictures.py --quick           # 625 images, 2 epochs; PNGs into a temporary folder
    python examples/cnn_pictures.py --quick --plot out/

The CNN is ``cnn()`` of examples/cnn_handwritten.py (Conv2D(8, 3) - BatchNorm - relu - MaxPool2D,
Conv2D(16, 3) - BatchNorm - relu - MaxPool2D, Flatten - Dense(10) - BatchNorm - softmax), trained
as there: SGD(0.05, momentum=0.9), batches of 100, the 80/20 split with random_state=42, on the
5000 MNIST digits at 20x20 that deeplearner bundles (``load_mnist20``). It writes:

    cnn_filters_before.png   the first Conv2D's 8 kernels as initialized (He normal)
    cnn_filters_after.png    the same kernels after training, on the same kind of scale
    cnn_filters2_after.png   the second Conv2D's 16 x 8 kernels after training
    cnn_feature_maps.png     one validation digit after each relu: 8 channels, then 16
    cnn_saliency.png         validation digits beside |d logit / d pixel| (Simonyan et al. 2014)

A saliency map back-propagates from the logit to the pixels through every layer of the trained
CNN after a forward in inference mode, BatchNorm included (there, the linear map
dX = dY * gamma / sqrt(running_var + eps)); ``deeplearner.saliency`` says how.
"""

import argparse
import os
import sys
import tempfile

import numpy as np
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cnn_handwritten import cnn  # noqa: E402  (the CNN of the example beside this one)

from deeplearner.datasets import load_mnist20  # noqa: E402
from deeplearner.plot import plot_feature_maps, plot_filters, plot_saliency  # noqa: E402

NAMES = ["cnn_filters_before.png", "cnn_filters_after.png", "cnn_filters2_after.png", "cnn_feature_maps.png",
         "cnn_saliency.png"]
DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")


def one_of_each(y, digits):
    """The position of the first sample of each digit in ``digits`` (of those that ``y`` holds)."""
    return [int(np.flatnonzero(y == digit)[0]) for digit in digits if np.any(y == digit)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30, help="epochs of training (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="the model's seed (default 0)")
    parser.add_argument("--quick", action="store_true", help="625 images, 2 epochs, PNGs into a temporary folder")
    parser.add_argument("--plot", metavar="DIR", help="write the PNGs into DIR (default: docs/, or with --quick "
                                                      "a temporary folder)")
    args = parser.parse_args(argv)
    folder = args.plot or (tempfile.mkdtemp(prefix="cnn_pictures_") if args.quick else DOCS)
    os.makedirs(folder, exist_ok=True)

    images, y = load_mnist20(images=True)                    # (5000, 1, 20, 20) in [0, 1], upright
    if args.quick:
        images, y = images[::8], y[::8]                      # 625 images, every digit
        args.epochs = 2
    X_train, X_valid, y_train, y_valid = train_test_split(images, y, test_size=0.20, random_state=42)

    model = cnn(batchnorm=True, seed=args.seed)
    written = [plot_filters(model.layers[0], path=os.path.join(folder, "cnn_filters_before.png"),
                            title="First Conv2D's 8 kernels before training (He normal initialization)")]
    W_before = model.layers[0].params["W"].copy()
    history = model.fit(X_train, y_train, X_valid, y_valid, epochs=args.epochs, batchsize=100, verbose=0)
    accuracy = history["val_accuracy"][-1]
    W = model.layers[0].params["W"]
    moved = np.linalg.norm(W - W_before) / np.linalg.norm(W_before)      # how far training took the kernels
    print(f"the CNN with BatchNorm: validation accuracy {accuracy:.3f} after {args.epochs} epochs; the first "
          f"Conv2D's kernels moved by ||W - W_before|| / ||W_before|| = {moved:.2f}")
    written.append(plot_filters(model.layers[0], path=os.path.join(folder, "cnn_filters_after.png"),
                                title=f"First Conv2D's 8 kernels after {args.epochs} epochs (validation accuracy "
                                      f"{accuracy:.3f}; ||W - W_before|| / ||W_before|| = {moved:.2f})"))
    second = next(i for i, layer in enumerate(model.layers) if i > 0 and type(layer).__name__ == "Conv2D")
    written.append(plot_filters(model.layers[second], path=os.path.join(folder, "cnn_filters2_after.png"),
                                title=f"Second Conv2D's kernels after {args.epochs} epochs: 16 filters (rows) "
                                      f"x 8 input channels (columns)"))
    shown = one_of_each(y_valid, range(10))
    three = shown[min(3, len(shown) - 1)]                      # a 3, the first in the validation data
    written.append(plot_feature_maps(model, X_valid[three], path=os.path.join(folder, "cnn_feature_maps.png"),
                                     title=f"One validation digit ({y_valid[three]}) through the trained CNN"))

    chosen = shown[:6]
    written.append(plot_saliency(model, X_valid[chosen], y=y_valid[chosen],
                                 path=os.path.join(folder, "cnn_saliency.png"),
                                 title="Validation digits and their saliency maps in the trained CNN "
                                       "(|d logit / d pixel|, each map scaled to its maximum)"))
    paths = [os.path.join(folder, name) for name in NAMES]
    for path in paths:
        print(f"wrote {path}")
    return {"history": history, "folder": folder, "paths": paths, "figures": written}


if __name__ == "__main__":
    main()
