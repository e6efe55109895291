"""The example scripts, run in-process through their main(argv) with a few epochs."""

import re
from pathlib import Path

import numpy as np
import pytest
from scipy.io import savemat
from threadpoolctl import threadpool_limits

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FINAL_LINE = re.compile(r"^validation accuracy: [01]\.\d{3}$")


@pytest.fixture
def examples(monkeypatch):
    """The two example modules, imported from examples/ as the scripts import each other."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import compare_batchnorm
    import train_handwritten
    return train_handwritten, compare_batchnorm


@pytest.fixture
def fake_mat(tmp_path):
    """120 easy 20x20 'digits' in handwritten.mat's layout: digit k is a bright bar in column 2k."""
    rng = np.random.default_rng(0)
    digits = np.arange(120) % 10
    images = rng.uniform(0, 0.1, size=(120, 20, 20))        # (n, 20, 20) upright, faint noise
    images[np.arange(120), :, 2 * digits] = 1.0
    path = tmp_path / "fake.mat"
    savemat(path, {"X": images.reshape(120, 400, order="F"),
                   "y": np.where(digits == 0, 10, digits).reshape(-1, 1)})
    return path


def last_line(text):
    return text.strip().splitlines()[-1]


def test_train_on_a_mat_file_ends_with_the_validation_accuracy(examples, fake_mat, capsys):
    train_handwritten, _ = examples
    history = train_handwritten.main(["--data", str(fake_mat), "--epochs", "20", "--verbose", "0"])
    out = capsys.readouterr().out
    assert "fake.mat (120 images of 20x20 pixels); 96 to train, 24 to validate" in out
    assert "not found" not in out
    assert FINAL_LINE.match(last_line(out))
    assert last_line(out) == f"validation accuracy: {history['val_accuracy'][-1]:.3f}"
    assert history["val_accuracy"][-1] >= 0.9          # the bars are easy: the network did learn
    assert len(history["loss"]) == 20


@pytest.fixture
def no_handwritten_mat(examples, tmp_path, monkeypatch):
    """Neither the current directory nor the 'repository' has data/handwritten.mat."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(examples[0], "REPO_ROOT", tmp_path)


def test_without_handwritten_mat_the_first_line_says_the_bundled_digits_are_used(examples, no_handwritten_mat,
                                                                                 capsys):
    train_handwritten, _ = examples
    history = train_handwritten.main(["--epochs", "2", "--verbose", "0"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("data: the bundled MNIST digits (5000 images of 20x20 pixels), as data/handwritten.mat "
                        "was not found; 4000 to train, 1000 to validate")   # the seed's 80/20 split of 5000
    assert FINAL_LINE.match(lines[-1])
    assert history["val_accuracy"][-1] > 0.5            # two epochs of the seed's network already read digits


def test_data_handwritten_mat_is_the_default_when_present(examples, no_handwritten_mat, fake_mat, tmp_path, capsys):
    train_handwritten, _ = examples
    (tmp_path / "data").mkdir()
    fake_mat.rename(tmp_path / "data" / "handwritten.mat")
    train_handwritten.main(["--epochs", "2", "--verbose", "0"])
    first_line = capsys.readouterr().out.splitlines()[0]
    assert first_line == "data: data/handwritten.mat (120 images of 20x20 pixels); 96 to train, 24 to validate"


def test_data_sklearn_trains_on_scikit_learns_digits(examples, capsys):
    train_handwritten, _ = examples
    train_handwritten.main(["--data", "sklearn", "--epochs", "2", "--no-batchnorm"])
    out = capsys.readouterr().out
    assert out.splitlines()[0] == ("data: scikit-learn's digits (1797 images of 8x8 pixels); "
                                   "1437 to train, 360 to validate")   # the seed's 80/20 split of 1797 images
    assert "BatchNorm" not in out                       # --no-batchnorm: not in the summary either
    assert FINAL_LINE.match(last_line(out))


def test_a_data_path_that_does_not_exist_stops_both_scripts_with_a_usage_message(examples, tmp_path, capsys):
    for script in examples:
        with pytest.raises(SystemExit):
            script.main(["--data", str(tmp_path / "missing.mat")])
        err = capsys.readouterr().err
        assert f"no file at '{tmp_path / 'missing.mat'}'; expected the path of a .mat file" in err
        assert "mnist20, sklearn" in err


def test_model_follows_the_options(examples):
    train_handwritten, _ = examples
    names = [type(layer).__name__ for layer in train_handwritten.build_model(64, dropout=0.5).layers]
    assert names == ["Dense", "BatchNorm", "Activation", "Dropout"] * 2 + ["Dense", "BatchNorm", "Activation"]
    names = [type(layer).__name__ for layer in train_handwritten.build_model(64, batchnorm=False).layers]
    assert "BatchNorm" not in names and len(names) == 6


def test_train_plot_options_write_pngs(examples, fake_mat, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    train_handwritten, _ = examples
    paths = {option: tmp_path / f"{option}.png" for option in ("plot", "digits", "confusion")}
    argv = ["--data", str(fake_mat), "--epochs", "3", "--verbose", "0"]
    for option, path in paths.items():
        argv += [f"--{option}", str(path)]
    train_handwritten.main(argv)
    for path in paths.values():
        assert path.read_bytes()[:4] == b"\x89PNG"
    assert FINAL_LINE.match(last_line(capsys.readouterr().out))


def test_bad_arguments_stop_with_a_usage_message(examples, capsys):
    train_handwritten, _ = examples
    with pytest.raises(SystemExit):
        train_handwritten.main(["--epochs", "0"])
    assert "expected a positive integer, received 0" in capsys.readouterr().err


@pytest.mark.parametrize("rate, shown", [("-0.5", "-0.5"), ("1", "1"), ("nan", "nan"), ("half", "'half'")])
def test_a_dropout_rate_outside_0_1_stops_both_scripts_with_a_usage_message(examples, capsys, rate, shown):
    for script in examples:
        with pytest.raises(SystemExit):
            script.main(["--dropout", rate])
        assert f"expected a rate in [0, 1), received {shown}" in capsys.readouterr().err


def test_timing_the_epochs_does_not_change_the_run(examples, fake_mat):
    train_handwritten, compare_batchnorm = examples
    X, y, _ = train_handwritten.load_data(fake_mat)
    X_train, X_valid, y_train, y_valid = train_handwritten.split(X, y)
    # Two runs agree bit for bit only at one thread count (fit would choose by timing, and
    # OpenBLAS's products differ in the last bits between counts): both run at one thread.
    with threadpool_limits(1, user_api="blas"):
        model = train_handwritten.build_model(400, batchnorm=False, dropout=0.3, seed=5)
        expected = model.fit(X_train, y_train, X_valid, y_valid, epochs=4, batch_size=50, verbose=0)
        model = train_handwritten.build_model(400, batchnorm=False, dropout=0.3, seed=5)
        timed = compare_batchnorm.train_timed(model, (X_train, y_train), (X_valid, y_valid), 4, 50)
    for key, values in expected.items():
        np.testing.assert_array_equal(timed[key], values)
    assert len(timed["seconds"]) == 4 and np.all(np.diff(timed["seconds"]) > 0)


def test_first_epoch_reaching_by_hand(examples):
    _, compare_batchnorm = examples
    history = {"val_accuracy": [0.5, 0.92, 0.91, 0.96], "seconds": [0.1, 0.2, 0.3, 0.4]}
    assert compare_batchnorm.first_epoch_reaching(history, 0.90) == (2, 0.2)
    assert compare_batchnorm.first_epoch_reaching(history, 0.95) == (4, 0.4)
    assert compare_batchnorm.first_epoch_reaching(history, 0.99) is None


def test_compare_prints_a_row_per_run_and_writes_one_png(examples, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    _, compare_batchnorm = examples
    path = tmp_path / "compare.png"
    histories = compare_batchnorm.main(["--data", "mnist20", "--epochs", "2", "--plot", str(path)])
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("data: the bundled MNIST digits (5000 images of 20x20 pixels); "
                                          "4000 to train, 1000 to validate; 2 epochs")
    assert list(histories) == ["BatchNorm", "no BatchNorm", "Dropout(0.2) instead"]
    rows = [line for line in out.splitlines() if line.startswith("| ") and "epochs to" not in line]
    assert [row.split("|")[1].strip() for row in rows] == list(histories)
    assert "never" in out                               # nobody reaches 95% in 2 epochs
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert list(tmp_path.glob("*.png")) == [path]
