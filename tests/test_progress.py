"""fit's log lines: about ten per run, whatever the number of epochs."""

import pytest

from deeplearner.model.progress import format_logs, is_log_epoch


@pytest.mark.parametrize("epochs", list(range(1, 60)) + [99, 101, 999, 1000, 1001, 4321, 10000])
def test_about_ten_log_lines_for_any_number_of_epochs(epochs):
    logged = [epoch for epoch in range(1, epochs + 1) if is_log_epoch(epoch, epochs)]
    assert logged[0] == 1 and logged[-1] == epochs
    assert len(logged) == epochs if epochs <= 10 else 10 <= len(logged) <= 12


def test_the_seeds_run_logs_at_each_thousand():
    logged = [epoch for epoch in range(1, 10001) if is_log_epoch(epoch, 10000)]
    assert logged == [1, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000]


def test_a_log_line_reads_like_the_seeds():
    line = format_logs(1000, 10000, {"loss": 0.0298248, "val_loss": 0.2026, "accuracy": 1.0,
                                     "val_accuracy": 0.946})
    assert line == ("Epoch 1000/10000 - training loss 0.0298 - validation loss 0.2026 - "
                    "training accuracy 1.000 - validation accuracy 0.946")


def test_regression_leaves_accuracy_out():
    assert format_logs(3, 5, {"loss": 1.5, "accuracy": float("nan")}) == "Epoch 3/5 - training loss 1.5000"
