"""Shared fixtures: scikit-learn's bundled digits, split as in the seed notebook."""

import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


@pytest.fixture(scope="session")
def digits():
    """8x8 digits (1797 samples, 64 features) scaled to [0, 1]; 80/20 split, random_state=42.

    Returns ``(X_train, X_valid, y_train, y_valid)`` with labels 0..9 of shape (n,).
    Treat the arrays as read-only: the fixture is shared by the whole session.
    """
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.20, random_state=42)
