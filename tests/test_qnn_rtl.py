"""Layer 1 of a small trained QNN on the generated RTL (cocotb + icarus): bit-exact outputs, same classifications."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="scikit-learn ships the digits data set: pip install -e '.[qnn]'")
pytest.importorskip("rtl.generate", reason="the RTL generator (rtl/generate.py) is not in this tree yet")
if shutil.which("iverilog") is None:
    pytest.skip("iverilog is not installed (make deps installs it)", allow_module_level=True)

from qnn.data import load_split  # noqa: E402
from qnn.net import TrainConfig, branch_matmul, infer, quantize_net, train  # noqa: E402
from qnn.on_rtl import check_layer1_on_rtl, run_layer  # noqa: E402

IMAGES = 8


@pytest.mark.slow
def test_trained_layer1_on_rtl_is_bit_exact_and_classifies_the_same(tmp_path):
    split = load_split()
    cfg = TrainConfig(wbits=2, abits=2, hidden=16, epochs=2, seed=0)
    qnet = quantize_net(train(split, cfg))
    x = split.x_test[:IMAGES]
    model = infer(qnet, x, matmul=branch_matmul)
    run = run_layer(qnet.w1_u, model.a0_u, 2, 2, build_root=tmp_path, tag="test")
    assert run.spec_id == "parallel_w2a2_n64"
    assert run.y.shape == (IMAGES, 16)
    assert np.array_equal(run.y, model.dot1)
    from_rtl = infer(qnet, x, matmul=branch_matmul, dot1=run.y)
    assert np.array_equal(from_rtl.pred, model.pred)
    assert run.cycles >= IMAGES * 16  # one dot product per accepted input, II >= 1


@pytest.mark.slow
def test_check_layer1_on_rtl_w1a1(tmp_path):
    """The 1-bit layer (pure XNOR-popcount) through the helper the CLI uses."""
    check = check_layer1_on_rtl(load_split(), TrainConfig(wbits=1, abits=1, hidden=8, epochs=1, seed=0),
                                images=4, build_root=tmp_path)
    assert check.spec_id == "parallel_w1a1_n64" and check.dot_products == 32
    assert check.dots_equal and check.predictions_equal


@pytest.mark.slow
def test_check_layer1_on_rtl_twos(tmp_path):
    """The twos layer (AND-popcount branches, top weight plane subtracted) on its generated PE."""
    check = check_layer1_on_rtl(load_split(), TrainConfig(wbits=2, abits=2, hidden=8, epochs=1, seed=0,
                                                          encoding="twos"), images=4, build_root=tmp_path)
    assert check.spec_id == "parallel_twos_w2a2_n64" and check.dot_products == 32
    assert check.dots_equal and check.predictions_equal


@pytest.mark.slow
def test_rtl_bench_catches_a_wrong_expectation(tmp_path):
    """The bench really compares: one expected value off by 2 makes the run fail with a clear error."""
    from common.errors import BitbranchError

    rng = np.random.default_rng(5)
    w_u = rng.integers(0, 2, size=(3, 64))
    a_u = rng.integers(0, 2, size=(2, 64))
    wrong = (2 * a_u - 1) @ (2 * w_u - 1).T
    wrong[1, 2] += 2
    with pytest.raises(BitbranchError, match="RTL layer run of parallel_w1a1_n64 failed"):
        run_layer(w_u, a_u, 1, 1, build_root=tmp_path, tag="wrong", expected=wrong)
    assert "RTL y=" in (tmp_path / "qnn" / "wrong" / "parallel_w1a1_n64" / "sim.log").read_text()
