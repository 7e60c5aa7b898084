"""model.energy / model.energy_activity: activity matches a plain bit-level count, estimates use the
committed calibration, the calibration file is complete and its errors are what it claims."""

from __future__ import annotations

import json

import numpy as np
import pytest

from common.errors import BitbranchError
from model.contract import pack_bus
from model.cycle import baseline_parts, branch_pc, parallel_y
from model.energy import (
    AREA_CLASSES,
    CALIBRATION_PATH,
    ENERGY_CLASSES,
    costs_from_calibration,
    features,
    load_calibration,
)
from model.energy_activity import Activity, activity_for, popcount_tree_activity, random_words
from model.spec import DesignSpec
from reports.calibrate import main
from reports.estimates import estimate, estimate_detail
from rtl import archs


def activity(spec: DesignSpec, words=None) -> Activity:
    """The registered architecture's activity for random inputs (seed 1, 256 vectors) or the given words."""
    return activity_for(spec, archs.get(spec.arch).activity, words=words)


def test_popcount_tree_activity_counts_like_the_cycle_model():
    spec = DesignSpec("parallel", 2, 2, 13)
    w, a = random_words(spec, 20, 3)
    x = 1 - (((w >> 1) & 1) ^ (a & 1))
    counts, *_ = popcount_tree_activity(x, "dadda")
    for t in range(20):
        assert counts[t] == branch_pc(pack_bus(w[t], 2), pack_bus(a[t], 2), spec, 1, 0)


def test_operand_toggles_are_bit_flips_between_consecutive_vectors():
    spec = DesignSpec("parallel", 3, 2, 5)
    w, a = random_words(spec, 50, 7)
    act = activity(spec, words=(w, a))
    brute = sum(bin(pack_bus(w[t], 3) ^ pack_bus(w[t - 1], 3)).count("1")
                + bin(pack_bus(a[t], 2) ^ pack_bus(a[t - 1], 2)).count("1") for t in range(1, 50))
    s1 = next(p for p in act.parts if p.name == "s1_operands")
    assert s1.toggles_per_dot == pytest.approx(brute / 49)
    y = [parallel_y(spec, [branch_pc(pack_bus(w[t], 3), pack_bus(a[t], 2), spec, i, j)
                           for i in range(3) for j in range(2)]) for t in range(50)]
    mask = (1 << spec.out_width) - 1
    ybrute = sum(bin((y[t] ^ y[t - 1]) & mask).count("1") for t in range(1, 50))
    assert next(p for p in act.parts if p.name == "y").toggles_per_dot == pytest.approx(ybrute / 49)


def test_constant_inputs_make_no_datapath_toggles():
    spec = DesignSpec("baseline", 2, 3, 6)
    w = np.tile(np.array([[1, 2, 3, 0, 1, 2]]), (10, 1))
    a = np.tile(np.array([[7, 0, 5, 3, 2, 1]]), (10, 1))
    act = activity(spec, words=(w, a))
    assert all(p.toggles_per_dot == 0 for p in act.parts)
    assert sum(baseline_parts(spec, pack_bus(w[0], 2), pack_bus(a[0], 3))) == \
        int(np.sum((2 * w[0] - 3) * (2 * a[0] - 7)))


def test_serial_spends_wbits_times_abits_cycles_per_dot():
    assert activity(DesignSpec("serial", 3, 2, 8)).cycles_per_dot == 6
    assert activity(DesignSpec("parallel", 3, 2, 8)).cycles_per_dot == 1


def test_estimate_is_the_calibrated_sum_of_features():
    cal = load_calibration()
    spec = DesignSpec("parallel", 2, 2, 32)
    area, e_mac = estimate(spec)
    fa, fe = features(activity(spec), costs_from_calibration(cal))
    assert area == pytest.approx(sum(cal["coefficients"]["area"][k] * fa[k] for k in AREA_CLASSES))
    det = estimate_detail(spec, cal)
    assert e_mac == pytest.approx(det.energy_per_dot_pj / 32)
    assert det.energy_per_dot_pj >= sum(cal["coefficients"]["energy"][k] * fe[k] for k in ENERGY_CLASSES)
    # more bits cost more, for every arch
    for arch in archs.names():
        a1, e1 = estimate(DesignSpec(arch, 1, 1, 32))
        a4, e4 = estimate(DesignSpec(arch, 4, 4, 32))
        assert a4 > a1 > 0 and e4 > e1 > 0


def test_calibration_file_has_provenance_and_consistent_errors():
    cal = json.loads(CALIBRATION_PATH.read_text())
    prov = cal["provenance"]
    for key in ("date", "designs", "targets", "liberty", "corner", "clock_ns", "model_activity", "fit"):
        assert prov[key]
    assert prov["corner"] == "tt_025C_1v80" and prov["clock_ns"] == 10.0
    assert {r["spec_id"] for r in cal["errors"]} == set(prov["designs"])
    assert {r["spec_id"] for r in cal["errors"] if r["energy_target"]} == set(prov["energy_designs"])
    for r in cal["errors"]:
        assert r["loo_area_error"] == pytest.approx(r["loo_area_um2"] / r["flow_area_um2"] - 1)
        if r["energy_target"]:
            assert r["loo_energy_error"] == pytest.approx(r["loo_energy_per_mac_pj"] / r["flow_energy_per_mac_pj"] - 1)
    s = cal["summary"]
    assert s["loo_area_max_abs_error"] == pytest.approx(max(abs(r["loo_area_error"]) for r in cal["errors"]))
    assert s["loo_energy_max_abs_error"] == pytest.approx(
        max(abs(r["loo_energy_error"]) for r in cal["errors"] if r["energy_target"]))


def test_unit_costs_match_the_liberty(tt_liberty, tmp_path):
    from flow.liberty import load_library
    from reports.calibrate import unit_costs_from_liberty

    costs = unit_costs_from_liberty(load_library(tt_liberty, tmp_path / "cache"), "x")
    stored = costs_from_calibration(load_calibration())
    assert costs.area_um2 == stored.area_um2
    assert costs.toggle_pj == pytest.approx(stored.toggle_pj)
    assert costs.area_um2["reg"] == pytest.approx(20.0192 + 11.2608)  # dfxtp_1 + mux2_1


def test_cli_table_and_bad_input(capsys, build_root):
    assert main(["--bits-max", "2", "--n", "8", "--root", str(build_root)]) == 0
    out = capsys.readouterr().out
    assert "serial_w2a2_n8" in out and "leave-one-out" in out
    from common.errors import BitbranchError
    with pytest.raises(BitbranchError, match="bits-max"):
        main(["--bits-max", "x"])


def test_post_route_estimate_is_post_synthesis_times_the_wire_factor():
    cal = load_calibration()
    spec = DesignSpec("baseline", 3, 3, 32)
    det = estimate_detail(spec, cal)
    k = cal["coefficients"]["wire"]["k_sqrt_area"]
    assert k > 0 and det.wire_factor == pytest.approx(1 + k * det.area_um2 ** 0.5)
    assert estimate(spec, "post-route")[1] == pytest.approx(det.energy_per_mac_pj_post_synthesis * det.wire_factor)
    assert estimate(spec, "post-synthesis")[1] == pytest.approx(det.energy_per_mac_pj_post_synthesis)
    with pytest.raises(BitbranchError, match="post-route or post-synthesis"):
        estimate(spec, "post-lunch")
