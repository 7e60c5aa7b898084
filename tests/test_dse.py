"""Design-space exploration (reports/dse.py, reports/dse_run.py, reports/executor.py, reports/network.py): the grid
and its bad inputs, the network-level arithmetic, fronts and knee, model-only rows, failed rows, resumption, an
unreachable scheduler, and a worker killed mid-task on a two-process LocalCluster."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from common.errors import BitbranchError
from model.spec import DesignSpec
from reports import dse
from reports.dse_run import defaults
from reports.network import AccumulatorCost, inference, knee, layers, pareto

REPO = Path(__file__).resolve().parent.parent


def settings(tmp_path: Path, mode: str = "model") -> dse.Settings:
    return dse.Settings(mode, str(tmp_path / "build"), 128, AccumulatorCost.from_calibration(), "test")


def reports_main(args: list[str]) -> int:
    from reports.__main__ import main

    return main(args)


# --- the grid -----------------------------------------------------------------------------------------------------

def test_grid_crosses_widths_into_unequal_pairs_and_every_axis():
    g = dse.parse_grid({"archs": "parallel,serial", "encodings": "pm1,twos", "wbits": "1,2", "abits": "1,3",
                        "n": "8,16", "clock_ns": "10,5"}, defaults())
    assert g.pairs == ((1, 1), (1, 3), (2, 1), (2, 3))
    assert g.size == 2 * 2 * 4 * 2 * 2 == len(g.points()) == len({p.id for p in g.points()})
    assert {p.clock_ns for p in g.points()} == {10.0, 5.0}
    assert "parallel_twos_w2a3_n16@5ns" in {p.id for p in g.points()}


def test_grid_file_and_flags(tmp_path):
    f = tmp_path / "grid.toml"
    f.write_text('archs = ["serial"]\nencodings = ["twos"]\npairs = ["1x2", "3x1"]\nn = [8]\nclock_ns = [20]\n')
    from argparse import Namespace

    from reports.dse_run import grid_from_args

    base = dict(grid=str(f), archs=None, encodings=None, wbits=None, abits=None, pairs=None, n=None, clock_ns=None)
    g = grid_from_args(Namespace(**base))
    assert (g.archs, g.encodings, g.pairs, g.ns, g.clocks_ns) == (("serial",), ("twos",), ((1, 2), (3, 1)), (8,), (20.0,))
    g2 = grid_from_args(Namespace(**dict(base, n="4,12", wbits="2", abits="2")))  # flags win over the file
    assert g2.ns == (4, 12) and g2.pairs == ((2, 2),)


@pytest.mark.parametrize("axes, msg", [
    ({"archs": "foo"}, "unknown arch 'foo'"),
    ({"encodings": "pm1,bar"}, "unknown encoding 'bar'"),
    ({"wbits": "0"}, "'wbits': 0 is out of range: use 1..16"),
    ({"abits": "2,x"}, "'abits': 'x' is not an integer"),
    ({"n": ","}, "grid axis 'n' is empty"),
    ({"pairs": "2-2"}, "is not WxA"),
    ({"clock_ns": "0"}, "--clock-ns must be positive"),
])
def test_malformed_grid_is_one_error(axes, msg):
    with pytest.raises(BitbranchError, match=msg):
        dse.parse_grid(axes, defaults())


def test_bad_grid_file_is_one_error(tmp_path):
    f = tmp_path / "g.toml"
    f.write_text("archs = [\n")
    with pytest.raises(BitbranchError, match="not valid TOML"):
        dse.read_grid_file(f)
    f.write_text('arch = ["parallel"]\n')
    with pytest.raises(BitbranchError, match="unknown key"):
        dse.read_grid_file(f)


def test_malformed_grid_on_the_command_line_is_one_line_before_any_job(tmp_path):
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, "-m", "reports", "dse", "--archs", "parallel,nope", "--root", str(tmp_path / "b"),
                        "--out", str(out)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [p.stderr.strip()] and p.stderr.startswith("error: unknown arch 'nope'")
    assert "executor" not in p.stdout and not out.exists() and not (tmp_path / "b").exists()


def test_over_limit_grid_is_refused_unless_raised(tmp_path):
    args = ["dse", "--wbits", "1,2,3", "--abits", "1,2,3", "--n", "4,8,16,32", "--root", str(tmp_path / "b"),
            "--out", str(tmp_path / "out")]  # 3 archs x 2 encodings x 9 pairs x 4 N = 216 > 100
    with pytest.raises(BitbranchError, match=r"216 points, over the front-end limit of 100: .*--max-points 216"):
        reports_main(args)
    assert not (tmp_path / "out").exists()
    g = dse.parse_grid({"wbits": "1,2,3", "abits": "1,2,3", "n": "4,8,16,32"}, defaults())
    dse.check_limit(g, "front-end", 216)  # raised: accepted
    dse.check_limit(g, "model", None)  # the model's limit is higher
    with pytest.raises(BitbranchError, match="--gds"):
        reports_main(["dse", "--model-only", "--gds", "pareto", "--out", str(tmp_path / "out")])
    with pytest.raises(BitbranchError, match="use pareto or top-K"):
        dse.parse_gds("best")


def test_unreachable_scheduler_is_one_line_naming_it_within_10s(tmp_path):
    addr = "tcp://127.0.0.1:9"  # discard port: nothing listens
    env = dict(os.environ, DASK_SCHEDULER=addr)
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "reports", "dse", "--model-only", "--archs", "parallel", "--n", "8",
                        "--wbits", "1", "--abits", "1", "--out", str(tmp_path / "out")], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=60)
    took = time.monotonic() - t0
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach the Dask scheduler at " + addr), p.stderr
    assert took < 10, f"took {took:.1f} s"


# --- network level, fronts, knee ----------------------------------------------------------------------------------

def test_inference_tiles_layers_onto_n_and_costs_the_partial_sums():
    acc = AccumulatorCost(0.1, "test")
    assert layers(128) == ((64, 128), (128, 10))
    s = DesignSpec(arch="parallel", wbits=2, abits=2, n=32)
    inf = inference(s, energy_per_dot_pj=10.0, period_ns=10.0, latency_cycles=2, ii=1, hidden=128, acc=acc)
    # layer 1: 128 outputs x 2 tiles, 1 addition each; layer 2: 10 outputs x 4 tiles, 3 additions each
    assert inf.dots == 128 * 2 + 10 * 4 and inf.additions == 128 + 30
    bits1, bits2 = s.out_width + 1, s.out_width + 2
    assert math.isclose(inf.accumulate_nj, (128 * bits1 + 30 * bits2) * 0.1 * 1e-3)
    assert math.isclose(inf.energy_nj, inf.dots * 10.0 * 1e-3 + inf.accumulate_nj)
    assert inf.cycles == (256 + 2) + (40 + 2) and math.isclose(inf.latency_us, inf.cycles * 10.0 * 1e-3)
    whole = inference(DesignSpec(arch="parallel", wbits=2, abits=2, n=128), 10.0, 10.0, 2, 1, 128, acc)
    assert whole.additions == 0 and whole.accumulate_nj == 0  # one tile per dot product: nothing to accumulate
    serial = inference(DesignSpec(arch="serial", wbits=2, abits=2, n=32), 10.0, 10.0, 4, 4, 128, acc)
    assert serial.cycles == 4 * 296 + 8  # II cycles per dot product


def test_pareto_and_knee():
    pts = [(1, 5), (2, 3), (3, 3), (4, 1), (5, 5), (None, 0)]
    assert pareto(pts, lambda p: p) == [(1, 5), (2, 3), (4, 1)]
    front = [(1.0, 0.90), (2.0, 0.97), (4.0, 0.98), (8.0, 0.985)]  # (energy, accuracy): the knee is the bend
    assert knee(front, lambda p: p[0], lambda p: p[1]) == (2.0, 0.97)
    assert knee(front[:2], lambda p: p[0], lambda p: p[1]) is None


def test_model_rows_per_clock(tmp_path):
    g = dse.parse_grid({"archs": "parallel,serial", "encodings": "pm1,twos", "pairs": "1x1,2x1", "n": "16",
                        "clock_ns": "10,5"}, defaults())
    rows = dse.model_rows(g.points(), settings(tmp_path))
    assert [r.id for r in rows] == [p.id for p in g.points()] and all(r.status == "model-only" for r in rows)
    by = {r.id: r for r in rows}
    a, b = by["parallel_twos_w2a1_n16@10ns"], by["parallel_twos_w2a1_n16@5ns"]
    assert a.energy_per_mac_pj == b.energy_per_mac_pj and a.area_um2 == b.area_um2
    assert math.isclose(b.throughput_gmacs, 2 * a.throughput_gmacs) and math.isclose(b.inference_latency_us, a.inference_latency_us / 2)
    assert a.provenance["code"].startswith("model ") and "calibration" in a.provenance["model"]
    acc = dse.accuracy_table({"rows": [{"encoding": "twos", "wbits": 2, "abits": 1, "mean": 0.95}]})
    withacc = dse.with_accuracy(rows, acc)
    assert {r.id for r in withacc if r.accuracy == 0.95} == {r.id for r in rows if r.encoding == "twos" and r.wbits == 2}
    front = dse.accuracy_front(withacc)  # one design at two clocks: one model energy, the faster clock stands for both
    assert front and all(r.clock_ns == 5.0 for r in front)
    text = dse.to_json(withacc, {"m": 1})
    assert dse.rows_from_json(__import__("json").loads(text)) == withacc
    assert dse.to_csv(withacc).count("\n") == len(rows) + 1


def test_failing_point_is_a_failed_row_with_its_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("PDK_ROOT", str(tmp_path / "no-pdk"))
    p = dse.Point(DesignSpec(arch="parallel", wbits=1, abits=1, n=2), 10.0)
    r = dse.front_end_row(p, settings(tmp_path, "front-end"))
    assert r.status.startswith("failed: error: PDK_ROOT=") and "log " in r.status
    assert r.area_um2 is None and r.energy_per_mac_pj is None and r.inference_energy_nj is None  # no number
    assert r.model_area_um2 is not None  # the model's own columns, labelled as such
    assert not r.measured and dse.energy_area_front([r]) == []


# --- resumption and faults ----------------------------------------------------------------------------------------

@pytest.mark.slow
def test_rerun_resumes_from_the_stage_stamps(tmp_path, need_tools, pdk):
    need_tools("yosys", "sta", "iverilog", "vvp")
    st = settings(tmp_path, "front-end")
    p = dse.Point(DesignSpec(arch="parallel", wbits=1, abits=1, n=2), 10.0)
    first = dse.front_end_row(p, st)
    assert first.status == "ok", first.status
    assert first.area_um2 and first.energy_per_mac_pj and first.inference_energy_nj and first.fmax_mhz
    assert first.provenance["code"].startswith("flow ") and first.provenance["tools"]["yosys"].startswith("Yosys")
    log = dse.clock_root(st.root, 10.0) / "sweep" / f"{p.spec.id}.power.log"
    second = dse.front_end_row(p, st)
    assert second == first
    text = log.read_text()
    for stage in ("synth", "sta", "gatesim", "power"):
        assert f"[{stage}] up to date" in text, text


def _executing(dask_worker) -> list[str]:
    return [str(ts.key) for ts in dask_worker.state.executing]


@pytest.mark.slow
def test_worker_killed_mid_task_is_replaced_and_the_results_are_unchanged(tmp_path):
    from distributed import Client, LocalCluster

    g = dse.parse_grid({"pairs": "1x1,1x2,2x1,2x2,3x3,4x4", "n": "4,8,16,32"}, defaults())
    pts = g.points()
    chunks = [tuple(pts[i:i + 48]) for i in range(0, len(pts), 48)]
    st = settings(tmp_path)
    undisturbed = [dse.model_rows(c, st) for c in chunks]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      scheduler_port=0) as cluster, Client(cluster) as client:
        before = set(client.scheduler_info()["workers"])
        futures = [client.submit(dse.model_rows, c, st, key=f"chunk-{i}", pure=False) for i, c in enumerate(chunks)]
        killed = None
        deadline = time.monotonic() + 60
        while killed is None and time.monotonic() < deadline:
            busy = {a: keys for a, keys in client.run(_executing).items() if keys}
            if busy:
                addr = sorted(busy)[0]
                pid = client.run(os.getpid, workers=[addr])[addr]
                os.kill(pid, signal.SIGKILL)
                killed = (addr, busy[addr][0])
            else:
                time.sleep(0.01)
        assert killed is not None, "no task was ever seen running"
        results = client.gather(futures)
        client.wait_for_workers(2, timeout=30)  # the nanny starts a new worker process in the killed one's place
        after = set(client.scheduler_info()["workers"])
    assert killed[0] not in after and len(after - before) >= 1
    assert results == undisturbed


def test_any_fault_of_a_task_is_a_failed_row(tmp_path, monkeypatch):
    def boom(point, settings):
        raise RuntimeError("metrics file damaged\nsecond line")

    monkeypatch.setattr(dse, "_front_end_row", boom)
    p = dse.Point(DesignSpec(arch="serial", wbits=2, abits=1, n=8, encoding="twos"), 5.0)
    r = dse.front_end_row(p, settings(tmp_path, "front-end"))
    assert (r.id, r.status) == ("serial_twos_w2a1_n8@5ns", "failed: RuntimeError: metrics file damaged")
    assert r.area_um2 is None and not r.measured


def test_largest_first_orders_by_model_area_then_id():
    from model.spec import DesignSpec
    from reports.estimates import estimate_detail, largest_first

    specs = [DesignSpec(arch="serial", wbits=2, abits=2, n=32), DesignSpec(arch="parallel", wbits=1, abits=1, n=32),
             DesignSpec(arch="parallel", wbits=2, abits=2, n=32), DesignSpec(arch="parallel", wbits=2, abits=2, n=32)]
    order = largest_first(specs)
    assert sorted(order) == [0, 1, 2, 3]  # a permutation, duplicates kept
    areas = [estimate_detail(specs[i]).area_um2 for i in order]
    assert areas == sorted(areas, reverse=True)
    # the serial W2A2 PE is smaller than the parallel W2A2 one (what W*A*N alone could not tell apart)
    assert order.index(0) > order.index(2)
    assert order[:2] in ([2, 3], [3, 2])
