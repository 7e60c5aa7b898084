"""The handwritten digits data set that ships inside scikit-learn, split once and scaled for the network.

Pixels (0..16) are mapped to [-1, 1] by x = pixel/8 - 1 so the input quantizer (odd levels in
[-1, 1]) sees the whole range; the split is stratified with a fixed seed and never changes per run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from common.errors import BitbranchError

PIXEL_MAX = 16  # load_digits pixels are integers 0..16


@dataclass(frozen=True)
class DigitsSplit:
    """Train and held-out test images (N, 64) in [-1, 1], labels 0..9, and where they came from."""

    x_train: NDArray[np.float64]
    y_train: NDArray[np.int64]
    x_test: NDArray[np.float64]
    y_test: NDArray[np.int64]
    test_fraction: float
    split_seed: int
    source: str


def scale_pixels(pixels: NDArray[np.float64]) -> NDArray[np.float64]:
    """0..16 pixel counts to [-1, 1]."""
    return np.asarray(pixels, dtype=np.float64) / (PIXEL_MAX / 2) - 1.0


def load_split(test_fraction: float = 0.25, split_seed: int = 0) -> DigitsSplit:
    """sklearn's load_digits (1797 8x8 images, shipped with the package), stratified train/test split."""
    try:
        import sklearn
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        raise BitbranchError(
            "scikit-learn is not installed (it ships the digits data set): run `make deps` "
            "or `.venv/bin/pip install -e '.[qnn]'`"
        ) from None
    if not 0.0 < test_fraction < 1.0:
        raise BitbranchError(f"test_fraction={test_fraction} must be between 0 and 1 (e.g. 0.25)")
    digits = load_digits()
    x = scale_pixels(digits.data)
    y = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_fraction, random_state=split_seed, stratify=y
    )
    return DigitsSplit(
        x_train=np.ascontiguousarray(x_tr),
        y_train=np.ascontiguousarray(y_tr),
        x_test=np.ascontiguousarray(x_te),
        y_test=np.ascontiguousarray(y_te),
        test_fraction=test_fraction,
        split_seed=split_seed,
        source=f"sklearn.datasets.load_digits (scikit-learn {sklearn.__version__})",
    )
