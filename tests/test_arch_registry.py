"""The architecture registry (rtl.archs): every registered arch has every part, the parts agree with each
other, an incomplete descriptor is caught, and a toy architecture defined only in this file runs through
the whole project (spec, RTL, cycle model, energy estimate, plots, cocotb regression) after one
``monkeypatch.setitem(REGISTRY, "toy", TOY)`` and nothing else."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from model.contract import read_manifest
from model.energy_activity import Activity, Part, activity_for
from model.spec import DesignSpec, SpecError
from rtl import archs
from rtl.archs import PARTS, REGISTRY, Architecture, RegistryError, Style
from rtl.design import ArchDesign
from rtl.lockstep import lockstep_head, lockstep_pipeline
from rtl.verilog import FOOTER, ModuleText, top_name

# --- the toy architecture: a behavioural dot-product PE, s1 operands -> y, latency 1, II 1 ---------------


def toy_generate(spec: DesignSpec) -> ArchDesign:
    """One register stage of operands, then y = sum_e q_w[e] q_a[e] written as plain signed products."""
    m, k, ow, top = spec.wbits, spec.abits, spec.out_width, top_name(spec)

    def q(bus: str, bits: int, e: int) -> str:  # signed odd code 2u - (2^bits - 1) as {~u[msb], u[msb-1:0], 1}
        lo, msb = e * bits, e * bits + bits - 1
        return f"{{~{bus}[{msb}], 1'b1}}" if bits == 1 else f"{{~{bus}[{msb}], {bus}[{msb - 1}:{lo}], 1'b1}}"

    body = [
        *lockstep_head(spec, top, "toy PE (tests/test_arch_registry.py): behavioural products, latency 1, II 1", ["s1_valid"]),
    ]
    for e in range(spec.n):
        body += [f"    wire signed [{m}:0] qw_{e} = {q('s1_w', m, e)};",
                 f"    wire signed [{k}:0] qa_{e} = {q('s1_a', k, e)};",
                 f"    wire signed [{ow - 1}:0] p_{e} = qw_{e} * qa_{e};"]
    body += [
        f"    wire signed [{ow - 1}:0] y_next = {' + '.join(f'p_{e}' for e in range(spec.n))};",
        "    always @(posedge clk) begin",
        "        if (advance & s1_valid) y <= y_next;",
        "    end",
        "endmodule",
        FOOTER,
    ]
    stages = [{"name": "s1", "valid": "s1_valid", "holds": "w and a"},
              {"name": "out", "valid": "out_valid", "holds": "y = sum_e q_w[e] q_a[e]"}]
    return ArchDesign(top=top, modules=(ModuleText(top, "\n".join(body)),), latency_cycles=1,
                      initiation_interval=1, pipeline=lockstep_pipeline(stages))


def toy_timing(spec: DesignSpec) -> tuple[int, int]:
    return 1, 1


def toy_y(spec: DesignSpec, wa: tuple[int, int]) -> int:
    mw, ma = (1 << spec.wbits) - 1, (1 << spec.abits) - 1
    return sum((2 * ((wa[0] >> (e * spec.wbits)) & mw) - mw) * (2 * ((wa[1] >> (e * spec.abits)) & ma) - ma)
               for e in range(spec.n))


def toy_cycle_model(spec: DesignSpec, manifest=None):
    from model.cycle import lockstep_model

    return lockstep_model(spec, [lambda wa: wa, lambda wa: toy_y(spec, wa)], manifest)


def toy_activity(spec: DesignSpec, w: np.ndarray, a: np.ndarray) -> Activity:
    def toggles(v: np.ndarray, width: int) -> float:
        v = v.astype(np.int64) & ((1 << width) - 1)
        return float(np.bitwise_count(v[1:] ^ v[:-1]).sum()) / (v.shape[0] - 1)

    m, k, ow = spec.wbits, spec.abits, spec.out_width
    y = ((2 * w - ((1 << m) - 1)) * (2 * a - ((1 << k) - 1))).sum(axis=1)
    ops = sum(toggles(w[:, e], m) + toggles(a[:, e], k) for e in range(spec.n))
    return Activity(spec.id, w.shape[0], 1, (
        Part("ctrl", "ctrl", 3, 0.0),
        Part("s1_operands", "reg", spec.w_width + spec.a_width, ops),
        Part("multipliers", "mult", spec.n * m * k, ops),
        Part("sum", "adder", spec.n * ow, toggles(y, ow)),
        Part("y", "reg", ow, toggles(y, ow)),
    ))


TOY = Architecture(
    name="toy",
    description="test only: behavioural signed products summed in one stage; latency 1, II 1",
    generate=toy_generate,
    timing=toy_timing,
    cycle_model=toy_cycle_model,
    activity=toy_activity,
    style=Style(color="#9467bd", marker="D", label="toy"),
)


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> Architecture:
    """The toy registered: the one line an architecture adds to rtl/archs/__init__.py, done by monkeypatch."""
    monkeypatch.setitem(REGISTRY, "toy", TOY)
    return TOY


# --- the registry itself --------------------------------------------------------------------------------

def test_the_registered_architectures_are_complete():
    archs.check()
    assert archs.names() == ("parallel", "serial", "baseline", "scalable")
    assert archs.swept_names() == ("parallel", "serial", "baseline")  # the default PPA sweep is unchanged
    for name, arch in REGISTRY.items():
        assert arch.name == name and archs.get(name) is arch


@pytest.mark.parametrize("part", PARTS)
def test_a_descriptor_lacking_a_part_is_caught(part, monkeypatch):
    broken = dataclasses.replace(TOY, **{part: None})
    with pytest.raises(RegistryError, match=f"arch 'toy': .*{part}"):
        archs.check({"toy": broken})
    monkeypatch.setitem(REGISTRY, "toy", broken)
    with pytest.raises(RegistryError):
        archs.check()
    with pytest.raises(RegistryError):
        archs.get("toy")


def test_malformed_descriptors_are_caught():
    with pytest.raises(RegistryError, match="differs from its descriptor's name 'toy'"):
        archs.check({"other": TOY})
    with pytest.raises(RegistryError, match="one non-empty line"):
        archs.check({"toy": dataclasses.replace(TOY, description="two\nlines")})
    with pytest.raises(RegistryError, match="style.marker is empty"):
        archs.check({"toy": dataclasses.replace(TOY, style=Style("#000000", "", "toy"))})
    with pytest.raises(RegistryError, match="not an rtl.archs.Architecture"):
        archs.check({"toy": {"name": "toy"}})
    with pytest.raises(TypeError):
        Architecture(name="toy", description="no parts")  # type: ignore[call-arg]


def test_an_unknown_arch_is_a_spec_error_naming_the_registered_ones():
    with pytest.raises(SpecError, match="^unknown arch 'systolic': choose one of parallel, serial, baseline, scalable$"):
        archs.get("systolic")
    with pytest.raises(SpecError, match="unknown arch"):
        archs.registered(DesignSpec("systolic", 2, 2, 8))


@pytest.mark.parametrize("name", [*REGISTRY, "toy"])
def test_the_parts_of_an_architecture_agree(name, toy, tmp_path):
    """Generator, timing, cycle model and activity of one arch describe the same PE."""
    from rtl.generate import generate

    arch = archs.get(name)
    for spec in (DesignSpec(name, 2, 3, 5), DesignSpec(name, 1, 1, 1)):
        manifest = read_manifest(generate(spec, tmp_path))
        assert manifest["arch"] == name
        assert arch.timing(spec) == (manifest["latency_cycles"], manifest["initiation_interval"])
        arch.cycle_model(spec, manifest)  # raises when the model does not implement the manifest's pipeline
        act = activity_for(spec, arch.activity, vectors=8)
        assert act.spec_id == spec.id and act.cycles_per_dot == manifest["initiation_interval"]


# --- the toy through the whole project ------------------------------------------------------------------

def test_the_toy_runs_through_spec_rtl_models_and_reports(toy, tmp_path, capsys):
    from reports.estimates import estimate, estimate_detail
    from reports.plots import all_plots, arch_styles
    from reports.sweep import flow_specs, model_only_row
    from rtl.__main__ import main as rtl_main
    from verif.checks import check_trace
    from verif.driver import replay
    from verif.regression import default_specs
    from verif.stimulus import StimulusConfig, make_stimulus

    # the spec validates where specs enter: the CLI (python -m rtl spec / generate)
    assert rtl_main(["spec", "--arch", "toy", "--bits", "2", "--n", "5"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["id"] == "toy_w2a2_n5" and info["arch"] == TOY.description
    assert rtl_main(["--arch", "toy", "--bits", "2", "--n", "5", "--root", str(tmp_path)]) == 0
    spec = DesignSpec("toy", 2, 2, 5)
    rtl_dir = spec.build_dir(tmp_path) / "rtl"
    assert capsys.readouterr().out.strip() == f"{rtl_dir}/"
    manifest = read_manifest(rtl_dir / "manifest.json")
    assert manifest["top"] == top_name(spec) and (rtl_dir / manifest["verilog_files"][0]).is_file()

    # the cycle model passes the bench's own checks on a replayed stimulus
    lat, ii = archs.timing(spec)
    stim = make_stimulus(spec, StimulusConfig(seed=1, n_random=40, p_valid=0.6, p_ready=0.5), lat, ii)
    trace = replay(stim, archs.cycle_model(spec, rtl_dir / "manifest.json"), lat)
    report = check_trace(spec, stim, trace.columns, lat, ii, spec.id)
    assert report.passed, report.failures

    # the area/energy model estimates it
    area, e_mac = estimate(spec)
    assert area > 0 and e_mac > 0 and estimate_detail(spec).cycles_per_dot == 1

    # the default sets and the plots include it
    assert "toy" in {s.arch for s in flow_specs([1])} and "toy" in {s.arch for s in default_specs()}
    assert ("toy", TOY.style) in arch_styles()
    rows = [model_only_row(DesignSpec(a, b, b, 32), estimate, "model") for a in archs.names() for b in (1, 2)]
    all_plots(rows, tmp_path / "plots", "test")
    svg = (tmp_path / "plots" / "area_vs_bits.svg").read_text()
    for name in archs.names():
        assert f"{REGISTRY[name].style.label} (model estimate)" in svg


def test_without_the_registry_line_the_toy_is_refused(tmp_path):
    from rtl.generate import generate

    with pytest.raises(SpecError, match="unknown arch 'toy'"):
        generate(DesignSpec("toy", 2, 2, 5), tmp_path)
    assert not Path(DesignSpec("toy", 2, 2, 5).build_dir(tmp_path)).exists()


@pytest.mark.slow
def test_the_toy_passes_the_cocotb_regression(toy, tmp_path, capsys):
    """python -m verif on the toy (icarus): random and corner vectors, back-pressure, reset mid-stream."""
    from verif.__main__ import main as verif_main

    rc = verif_main(["--arch", "toy", "--bits", "2", "--n", "5", "--vectors", "100", "--root", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "toy_w2a2_n5 [icarus rtl]: PASS" in out
    result = json.loads((tmp_path / "toy_w2a2_n5" / "verif" / "result_icarus.json").read_text())
    assert result["passed"] and result["manifest_latency"] == 1 and result["delivered"] > 100
