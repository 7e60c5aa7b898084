"""The native Verilator regression: packing matches the port contract, real PEs pass, a mutant fails."""

from __future__ import annotations

import numpy as np
import pytest

from model.contract import pack_bus
from model.spec import DesignSpec
from verif import native
from verif.mutate import mutate_rtl


def test_pack_words_is_the_contract_packing():
    spec = DesignSpec("parallel", 3, 2, 23)
    w, a = native.vector_words(spec, 12, seed=5)
    packed = native.pack_words(w, spec.wbits)
    for k in range(len(w)):
        as_int = sum(int(x) << (32 * i) for i, x in enumerate(packed[k]))
        assert as_int == pack_bus(w[k], spec.wbits)
    assert packed.shape == (12, native.words_per_bus(spec.w_width))


def test_vectors_start_with_the_bench_corners_and_are_deterministic():
    spec = DesignSpec("serial", 2, 2, 8)
    assert native.vectors_file(spec, 50, 3) == native.vectors_file(spec, 50, 3)
    w, a = native.vector_words(spec, 50, 3)
    assert (w[0] == 1).all() and (a[0] == 1).all()  # all -1: words 01
    rec = np.frombuffer(native.vectors_file(spec, 50, 3), dtype="<u4").reshape(50, -1)
    y = rec[:, -2:].copy().view("<i8").ravel()
    assert y[4] == spec.y_max  # the bench's y_max corner


def _need_verilator(need_tools):
    from common.errors import BitbranchError
    from verif.sim import verilator_bin_dir

    need_tools("g++", "make")
    try:
        verilator_bin_dir()
    except BitbranchError as e:
        pytest.skip(str(e))


@pytest.mark.slow
@pytest.mark.parametrize("spec_id", ["parallel_w2a2_n32", "serial_w3a2_n7", "baseline_w1a4_n1",
                                     "parallel_twos_w3a2_n7", "serial_twos_w2a3_n9", "baseline_twos_w4a4_n32"])
def test_generated_pes_pass_with_stalls(spec_id, build_root, need_tools):
    _need_verilator(need_tools)
    res = native.run(DesignSpec.from_id(spec_id), count=3000, seed=2, stalls=True, root=build_root)
    assert (res.passed, res.failed) == (3000, 0), res


@pytest.mark.slow
def test_a_mutant_fails(build_root, need_tools):
    _need_verilator(need_tools)
    from rtl.generate import generate

    spec = DesignSpec("parallel", 2, 2, 8)
    manifest = generate(spec, build_root)
    mutant = mutate_rtl(manifest.parent, build_root / "mutant" / "rtl", "xnor_to_xor")
    res = native.run(spec, count=500, seed=1, root=build_root, manifest_path=mutant, label="native_mutant")
    assert res.failed > 0 and res.passed + res.failed == 500
