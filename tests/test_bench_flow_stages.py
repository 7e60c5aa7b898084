"""bench/flow_stages.py --table: per-stage, per-design wall times from the stamps, run nothing."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_flow_stages", REPO / "bench" / "flow_stages.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _stamp(d: Path, folder: str, wall: float | None) -> None:
    (d / folder).mkdir(parents=True)
    data = {"fingerprint": "x", "metrics": {}}
    if wall is not None:
        data["wall_s"] = wall
    (d / folder / "stamp.json").write_text(json.dumps(data))


def test_table_reads_wall_times_from_stamps(tmp_path: Path) -> None:
    a, b = tmp_path / "parallel_w1a1_n8" / "flow", tmp_path / "serial_w1a1_n8" / "flow"
    _stamp(a, "01-synth", 1.5)
    _stamp(a, "06-route", 10.25)
    (a / "metrics.json").write_text(json.dumps({"route__attempt__winner": "d28-seed1"}))
    (a / "06-route" / "rounds.json").write_text(json.dumps([{"round": 0, "qrouter": {"cpu_s": 70.25}},
                                                            {"round": 1, "qrouter": {"cpu_s": 12.0}}]))
    _stamp(b, "01-synth", 2.0)
    _stamp(b, "06-route", None)  # a stamp from before stages recorded their time
    (b / "06-route" / "rounds.json").write_text(json.dumps([{"round": 0, "qrouter": {"stage1_s": 3.0}}]))
    _stamp(tmp_path / "pdk", "lib", 0.7)
    text = _bench().table(tmp_path, [])
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["design", "synth", "route"]
    assert lines[1].split() == ["parallel_w1a1_n8", "1.5", "10.2", "11.8", "82.2", "d28-seed1"]
    assert lines[2].split() == ["serial_w1a1_n8", "2.0", "?", "2.0", "?"]  # a run without a CPU figure
    assert lines[3].split()[:3] == ["sum", "3.5", "10.2"] and "lib 0.7 s" in lines[4]
    assert "serial" not in _bench().table(tmp_path, ["parallel_w1a1_n8"])


def test_help_and_bad_spec_are_one_line_not_a_traceback(capsys) -> None:
    bench = _bench()
    assert bench.main(["--help"]) == 0
    assert "usage:" in capsys.readouterr().out
    assert bench.main(["--bogus"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "arch must be a lower-case name" in err[0] and "'--bogus'" in err[0]
    assert bench.main(["parallel", "two"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'two'" in err[0]
