"""Shared fixtures: scikit-learn's bundled digits, split as in the seed notebook."""

import os

import pytest
from hypothesis import settings
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

# In CI (CI=true) hypothesis draws the same examples every run, so a submission's result does
# not depend on luck; on a developer's machine it keeps exploring new ones.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def digits():
    """8x8 digits (1797 samples, 64 features) scaled to [0, 1]; 80/20 split, random_state=42.

    Returns ``(X_train, X_valid, y_train, y_valid)`` with labels 0..9 of shape (n,).
    Treat the arrays as read-only: the fixture is shared by the whole session.
    """
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.20, random_state=42)
