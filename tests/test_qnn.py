"""The QNN model: quantized inference through the branch decomposition is the integer arithmetic, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from common.errors import BitbranchError
from model import encodings
from model.encoding import code_from_word
from qnn.data import load_split
from qnn.net import TrainConfig, accuracy, branch_matmul, float_logits, infer, integer_matmul, quantize_net, train
from reports.qnn import main as qnn_main

pytest.importorskip("sklearn", reason="scikit-learn ships the digits data set: pip install -e '.[qnn]'")

TINY = dict(hidden=16, epochs=2)


@pytest.fixture(scope="module")
def split():
    return load_split()


def test_split_is_fixed_stratified_and_scaled(split):
    assert split.x_train.shape == (1347, 64) and split.x_test.shape == (450, 64)
    assert split.x_train.min() >= -1.0 and split.x_train.max() <= 1.0
    again = load_split()
    assert np.array_equal(again.x_test, split.x_test) and np.array_equal(again.y_test, split.y_test)
    assert set(np.bincount(split.y_test)) <= {43, 44, 45, 46}  # stratified: each class ~25 % of its 174..183 images


@pytest.mark.parametrize("encoding", ["pm1", "twos"])
@pytest.mark.parametrize("wbits,abits", [(1, 1), (1, 2), (2, 2), (3, 3), (4, 4)])
def test_branch_inference_equals_integer_dot_bit_for_bit(split, wbits, abits, encoding):
    qnet = quantize_net(train(split, TrainConfig(wbits=wbits, abits=abits, seed=1, encoding=encoding, **TINY)))
    x = split.x_test
    branch = infer(qnet, x, matmul=branch_matmul)
    ref = infer(qnet, x, matmul=integer_matmul)
    assert np.array_equal(branch.dot1, ref.dot1)
    assert np.array_equal(branch.dot2, ref.dot2)
    assert np.array_equal(branch.pred, ref.pred)
    # and the integer reference is the decoded words' product: q_a . q_w per (image, unit)
    b, o = 7, 3
    enc = encodings.get(encoding)
    qa = enc.decode_a(branch.a0_u[b], abits)
    qw = enc.decode_w(qnet.w1_u[o], wbits)
    assert branch.dot1[b, o] == int(qa @ qw)


def test_twos_levels_are_twos_complement_weights_and_relu_activations(split):
    qnet = quantize_net(train(split, TrainConfig(wbits=2, abits=3, seed=0, encoding="twos", **TINY)))
    inf = infer(qnet, split.x_test[:64])
    enc = encodings.get("twos")
    for words in (qnet.w1_u, qnet.w2_u):
        assert set(np.unique(enc.decode_w(words, 2))) <= {-2, -1, 0, 1}
    for words in (inf.a0_u, inf.a1_u):
        q = enc.decode_a(words, 3)
        assert q.min() >= 0 and q.max() <= 7 and q.min() == 0  # unsigned, zero reached (ReLU)
    one = quantize_net(train(split, TrainConfig(wbits=1, abits=1, seed=0, encoding="twos", **TINY)))
    assert set(np.unique(enc.decode_w(one.w1_u, 1))) <= {-1, 0}  # at W=1 the twos weights are {-1, 0}


def test_codes_are_odd_and_in_range(split):
    qnet = quantize_net(train(split, TrainConfig(wbits=2, abits=3, seed=0, **TINY)))
    inf = infer(qnet, split.x_test[:32])
    for words, bits in ((qnet.w1_u, 2), (qnet.w2_u, 2), (inf.a0_u, 3), (inf.a1_u, 3)):
        q = code_from_word(words, bits)
        assert np.all(q % 2 != 0) and np.abs(q).max() <= (1 << bits) - 1


def test_integer_network_matches_fake_quant_float_network(split):
    """Folding batch norm and scales into the integer path keeps (nearly) every classification."""
    net = train(split, TrainConfig(wbits=2, abits=2, seed=0, **TINY))
    int_pred = infer(quantize_net(net), split.x_test).pred
    float_pred = np.argmax(float_logits(net, split.x_test), axis=1)
    assert np.mean(int_pred == float_pred) >= 0.99


def test_training_is_deterministic_and_learns(split):
    cfg = TrainConfig(wbits=2, abits=2, seed=3, **TINY)
    a, b = quantize_net(train(split, cfg)), quantize_net(train(split, cfg))
    assert np.array_equal(a.w1_u, b.w1_u) and np.array_equal(a.scale2, b.scale2)
    assert accuracy(infer(a, split.x_test).pred, split.y_test) > 0.5  # chance is 0.1


def test_bad_configs_are_one_line_errors():
    with pytest.raises(BitbranchError, match="both wbits and abits"):
        TrainConfig(wbits=2, abits=None)
    with pytest.raises(BitbranchError, match="wbits=0"):
        TrainConfig(wbits=0, abits=2)
    with pytest.raises(BitbranchError, match="float baseline has no encoded form"):
        quantize_net(train(load_split(), TrainConfig(wbits=None, abits=None, hidden=4, epochs=1)))


def test_cli_writes_deterministic_reports(tmp_path, capsys):
    args = ["--seeds", "0,1", "--epochs", "1", "--hidden", "8", "--rtl-images", "0"]
    qnn_main(args + ["--out", str(tmp_path / "a")])
    qnn_main(args + ["--out", str(tmp_path / "b")])
    out = capsys.readouterr().out
    assert "RTL layer check SKIPPED" in out and "| W4/A4 |" in out and "seeds 0,1" in out
    assert "encodings pm1,twos" in out and "twos − pm1 (points)" in out
    for name in ("qnn.csv", "qnn.json", "qnn.md", "qnn.png", "qnn.svg"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert not list((tmp_path / "a").glob(".*tmp"))


@pytest.mark.parametrize("argv,msg", [(["--seeds", "a"], "--seeds"), (["--epochs", "0"], "--epochs"),
                                      (["--rtl-images", "-1"], "--rtl-images"),
                                      (["--encodings", "pm1,foo"], "unknown encoding 'foo': choose one of pm1, twos"),
                                      (["--encodings", "pm1,pm1"], "--encodings")])
def test_cli_bad_arguments(argv, msg, tmp_path):
    with pytest.raises(BitbranchError, match=msg):
        qnn_main(argv + ["--out", str(tmp_path)])


TRAIN_HASH = """
import hashlib, numpy as np
from qnn.data import load_split
from qnn.net import TrainConfig, train
split = load_split(0.25, 0)
for wb in (None, 2):
    net = train(split, TrainConfig(wbits=wb, abits=wb, hidden=16, epochs=2, seed=3))
    print(hashlib.sha256(np.concatenate([net.w1.ravel(), net.w2.ravel()]).tobytes()).hexdigest())
"""


def test_training_gives_the_same_weights_under_any_blas_kernel_or_thread_count():
    """The BLAS kernel (chosen per CPU) decided the summation order, so other machines trained other nets;
    training now sums in a fixed order. OPENBLAS_CORETYPE forces the kernels other CPUs would use."""
    import os
    import subprocess
    import sys

    outs = []
    for env in ({}, {"OPENBLAS_NUM_THREADS": "1"}, {"OPENBLAS_CORETYPE": "Haswell"},
                {"OPENBLAS_CORETYPE": "Prescott", "OPENBLAS_NUM_THREADS": "2"}):
        full = {k: v for k, v in os.environ.items() if not k.startswith("OPENBLAS_")} | env
        res = subprocess.run([sys.executable, "-c", TRAIN_HASH], env=full, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr
        outs.append(res.stdout.split())
    assert len(outs[0]) == 2
    assert all(o == outs[0] for o in outs), outs
