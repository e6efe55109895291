"""deeplearner.plot: figures come back, PNGs get written, digits are drawn upright."""

import subprocess
import sys

import numpy as np
import pytest

from deeplearner import plot
from deeplearner.datasets import load_digits

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def mpl():
    return pytest.importorskip("matplotlib")


def seven(side):
    """An upright digit that equals neither its transpose nor its mirror image."""
    image = np.zeros((side, side))
    image[1, 2:side - 1] = 1.0            # the bar, near the top
    image[1:side - 1, side - 2] = 0.5     # the stem, on the right
    image[side - 2, 1] = 0.25             # a dot, bottom left
    return image


def history(epochs=5, validation=True):
    h = {"loss": list(np.linspace(2, 0.1, epochs)), "accuracy": list(np.linspace(0.1, 0.99, epochs))}
    if validation:
        h.update(val_loss=list(np.linspace(2.1, 0.3, epochs)), val_accuracy=list(np.linspace(0.1, 0.9, epochs)))
    return h


def assert_png(path):
    assert path.read_bytes()[:8] == PNG_SIGNATURE


def test_one_history_gives_two_panels_and_a_png(mpl, tmp_path):
    path = tmp_path / "figures" / "curves.png"       # the folder does not exist yet
    figure = plot.plot_history(history(), path=path)
    assert isinstance(figure, mpl.figure.Figure)
    loss_axes, accuracy_axes = figure.axes
    assert [line.get_label() for line in loss_axes.lines] == ["training", "validation"]
    np.testing.assert_allclose(accuracy_axes.lines[1].get_ydata(), history()["val_accuracy"])
    np.testing.assert_array_equal(accuracy_axes.lines[1].get_xdata(), [1, 2, 3, 4, 5])   # epochs from 1
    assert_png(path)


def test_several_histories_get_one_color_each_and_a_style_legend(mpl):
    figure = plot.plot_history({"BatchNorm": history(), "plain": history(validation=False)}, log_loss=True)
    loss_axes = figure.axes[0]
    labels = [text.get_text() for text in loss_axes.get_legend().get_texts()]
    assert labels == ["BatchNorm", "plain", "training", "validation"]
    drawn = [line for line in loss_axes.lines if len(line.get_xdata())]
    assert len(drawn) == 3                                      # "plain" has no validation curve
    assert drawn[0].get_color() != drawn[2].get_color()
    assert loss_axes.get_yscale() == "log"


def test_a_history_without_loss_is_refused(mpl):
    with pytest.raises(ValueError, match=r"has no 'loss'; its keys are \['acc'\]"):
        plot.plot_history({"acc": [0.5]})
    with pytest.raises(ValueError, match=r"the history is empty"):
        plot.plot_history({})


def test_a_regression_history_draws_no_accuracy(mpl):
    nan = float("nan")
    figure = plot.plot_history({"loss": [1.0, 0.5], "accuracy": [nan, nan]})
    assert len(figure.axes[0].lines) == 1 and len(figure.axes[1].lines) == 0


@pytest.mark.parametrize("side, order", [(20, "F"), (8, "C")])
def test_digits_are_drawn_upright(mpl, side, order):
    image = seven(side)
    X = np.stack([image.reshape(-1, order=order), np.zeros(side * side)])   # as the dataset stores it
    figure = plot.plot_digits(X, [7, 1], [7, 4])
    np.testing.assert_array_equal(figure.axes[0].images[0].get_array(), image)


def test_wrong_predictions_are_red_and_right_ones_black(mpl, tmp_path):
    X, y = load_digits()
    y_pred = y[:6].copy()
    y_pred[2] = (y[2] + 1) % 10
    figure = plot.plot_digits(X[:6], y[:6], y_pred, n=6, columns=3, path=tmp_path / "digits.png")
    to_rgba = mpl.colors.to_rgba
    colors = [to_rgba(axes.title.get_color()) for axes in figure.axes]
    assert colors[2] == to_rgba(plot.WRONG_COLOR)
    assert colors.count(to_rgba("black")) == 5
    assert figure.axes[2].title.get_text() == f"true {y[2]} / pred {y_pred[2]}"
    assert_png(tmp_path / "digits.png")


def test_digits_refuse_too_few_labels(mpl):
    with pytest.raises(ValueError, match=r"X has 3 rows but y_true has 2 labels"):
        plot.plot_digits(np.zeros((3, 64)), [1, 2])


def test_confusion_matrix_by_hand():
    counts, labels = plot.confusion_matrix([0, 0, 1, 2, 2], [0, 1, 1, 0, 2])
    np.testing.assert_array_equal(labels, [0, 1, 2])
    np.testing.assert_array_equal(counts, [[1, 1, 0],     # true 0: once right, once taken for 1
                                           [0, 1, 0],
                                           [1, 0, 1]])
    with pytest.raises(ValueError, match=r"y_true has 2 labels but y_pred has 1"):
        plot.confusion_matrix([0, 1], [0])


def test_confusion_matrix_with_given_labels_orders_them_and_refuses_missing_ones():
    counts, labels = plot.confusion_matrix([0, 1, 1], [1, 1, 0], labels=[1, 0])
    np.testing.assert_array_equal(counts, [[1, 1], [1, 0]])   # rows and columns in the order given
    with pytest.raises(ValueError, match=r"confusion_matrix: y_true or y_pred holds labels that are not in "
                                         r"labels=\[0, 1\]: \[2, 3\]\. Add them to labels, or pass labels=None"):
        plot.plot_confusion_matrix([0, 1, 2], [0, 3, 1], labels=[0, 1])


def test_confusion_matrix_figure_shows_the_counts(mpl, tmp_path):
    figure = plot.plot_confusion_matrix(["a", "b", "b"], ["a", "a", "b"], path=tmp_path / "confusion.png")
    np.testing.assert_array_equal(figure.axes[0].images[0].get_array(), [[1, 0], [1, 1]])
    assert "accuracy 0.667" in figure.axes[0].get_title()
    assert_png(tmp_path / "confusion.png")


def test_import_deeplearner_does_not_import_matplotlib():
    code = ("import sys, deeplearner, deeplearner.datasets, deeplearner.plot; "
            "print('matplotlib' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_without_matplotlib_the_error_says_how_to_install_it(monkeypatch):
    for name in ("matplotlib", "matplotlib.figure"):
        monkeypatch.setitem(sys.modules, name, None)   # None in sys.modules makes the import fail
    with pytest.raises(ImportError, match=r'pip install -e "\.\[plot\]"'):
        plot.plot_history(history())
