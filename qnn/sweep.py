"""Accuracy against bit width: train the float baseline and each W/A config over a few seeds, per encoding.

Every encoding (``model.encodings``: pm1 and twos by default) trains the same widths with the same split,
seeds and schedule on its own level sets. Quantized accuracies are measured on the deployed integer network,
whose layer products go through the encoding's branch form (``Encoding.branch_matmul``, the reference arithmetic
of the hardware); every run also checks those products equal the plain integer dot products bit for bit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from common.errors import BitbranchError
from model import encodings as registry
from qnn.data import DigitsSplit, load_split
from qnn.net import TrainConfig, accuracy, branch_matmul, float_logits, infer, integer_matmul, quantize_net, train

DEFAULT_WIDTHS: tuple[tuple[int | None, int | None], ...] = (
    (None, None), (1, 1), (1, 2), (2, 2), (3, 3), (4, 4),
)


@dataclass(frozen=True)
class SweepConfig:
    """Everything that decides the table: widths, seeds, network size, schedule, split."""

    widths: tuple[tuple[int | None, int | None], ...] = DEFAULT_WIDTHS
    seeds: tuple[int, ...] = (0, 1, 2)
    hidden: int = 128
    epochs: int = 60
    batch: int = 32
    lr: float = 0.01
    test_fraction: float = 0.25
    split_seed: int = 0
    encodings: tuple[str, ...] = registry.names()

    def __post_init__(self) -> None:
        if not self.encodings:
            raise BitbranchError("give at least one encoding (e.g. --encodings pm1,twos)")
        for name in self.encodings:
            try:
                registry.get(name)
            except registry.EncodingError as e:
                raise BitbranchError(str(e)) from None
        if not self.seeds:
            raise BitbranchError("give at least one seed (e.g. --seeds 0,1,2)")
        if not self.widths:
            raise BitbranchError("give at least one W/A width")

    def train_config(self, wbits: int | None, abits: int | None, seed: int,
                     encoding: str = registry.DEFAULT) -> TrainConfig:
        return TrainConfig(wbits=wbits, abits=abits, hidden=self.hidden, epochs=self.epochs,
                           batch=self.batch, lr=self.lr, seed=seed, encoding=encoding)


@dataclass(frozen=True)
class RunResult:
    """One trained network: its config label, seed, and accuracies on train and held-out test."""

    label: str
    wbits: int | None
    abits: int | None
    seed: int
    test_accuracy: float
    train_accuracy: float
    branch_bit_exact: bool | None  # None for the float baseline (no encoded products)
    encoding: str = registry.DEFAULT


@dataclass(frozen=True)
class Row:
    """Summary of one W/A config of one encoding over the seeds."""

    label: str
    wbits: int | None
    abits: int | None
    accuracies: tuple[float, ...]
    encoding: str = registry.DEFAULT

    @property
    def mean(self) -> float:
        return float(np.mean(self.accuracies))

    @property
    def std(self) -> float:
        """Sample standard deviation over seeds (0 for a single seed)."""
        return float(np.std(self.accuracies, ddof=1)) if len(self.accuracies) > 1 else 0.0

    @property
    def lo(self) -> float:
        return float(min(self.accuracies))

    @property
    def hi(self) -> float:
        return float(max(self.accuracies))


@dataclass(frozen=True)
class SweepResult:
    """The table plus where it came from."""

    config: SweepConfig
    runs: tuple[RunResult, ...]
    n_train: int
    n_test: int
    source: str
    rows: tuple[Row, ...] = field(default=())

    @staticmethod
    def summarise(config: SweepConfig, runs: tuple[RunResult, ...], split: DigitsSplit) -> "SweepResult":
        rows = []
        for enc in config.encodings:
            for w, a in config.widths:
                mine = [r for r in runs if (r.encoding, r.wbits, r.abits) == (enc, w, a)]
                rows.append(Row(mine[0].label, w, a, tuple(r.test_accuracy for r in mine), enc))
        return SweepResult(config, runs, len(split.y_train), len(split.y_test), split.source, tuple(rows))


def run_one(split: DigitsSplit, cfg: TrainConfig) -> RunResult:
    """Train one network and measure it (integer path through the encoding's branch form if quantized)."""
    net = train(split, cfg)
    if not cfg.quantized:
        test_pred = np.argmax(float_logits(net, split.x_test), axis=1)
        train_pred = np.argmax(float_logits(net, split.x_train), axis=1)
        return RunResult(cfg.label, None, None, cfg.seed, accuracy(test_pred, split.y_test),
                         accuracy(train_pred, split.y_train), None, cfg.encoding)
    qnet = quantize_net(net)
    test_inf = infer(qnet, split.x_test, matmul=branch_matmul)
    ref_inf = infer(qnet, split.x_test, matmul=integer_matmul)
    exact = bool(np.array_equal(test_inf.dot1, ref_inf.dot1) and np.array_equal(test_inf.dot2, ref_inf.dot2))
    if not exact:
        raise BitbranchError(f"{cfg.encoding} {cfg.label} seed {cfg.seed}: the branch form differs from the integer "
                             "dot product")
    train_inf = infer(qnet, split.x_train, matmul=branch_matmul)
    return RunResult(cfg.label, cfg.wbits, cfg.abits, cfg.seed, accuracy(test_inf.pred, split.y_test),
                     accuracy(train_inf.pred, split.y_train), exact, cfg.encoding)


def run_sweep(config: SweepConfig, log: Callable[[str], None] = lambda s: None) -> SweepResult:
    """Every encoding x width x seed, in a fixed order; ``log`` gets one line per run (with its wall time)."""
    split = load_split(config.test_fraction, config.split_seed)
    runs = []
    for enc in config.encodings:
        for w, a in config.widths:
            for seed in config.seeds:
                t0 = time.perf_counter()
                r = run_one(split, config.train_config(w, a, seed, enc))
                log(f"  {enc:5s} {r.label:6s} seed {seed}: test {r.test_accuracy:.4f}  train {r.train_accuracy:.4f}"
                    f"  ({time.perf_counter() - t0:.1f} s)")
                runs.append(r)
    return SweepResult.summarise(config, tuple(runs), split)
