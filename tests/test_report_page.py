"""The report page: rendered from the committed data, read as a report, and checked in headless Chromium."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reports.sweep import page_texts, rows_from_json

REPORTS = Path(__file__).resolve().parents[1] / "reports"


def test_committed_page_is_rendered_from_the_committed_data():
    """reports/index.html and ppa.md are exactly what the current code renders from reports/ppa.json and qnn.json
    (after a change to the page code: `python -m reports page`, then `python -m reports check`)."""
    texts = page_texts(REPORTS)
    assert (REPORTS / "ppa.md").read_text() == texts["ppa.md"], "reports/ppa.md is out of date: python -m reports page"
    assert (REPORTS / "index.html").read_text() == texts["index.html"], \
        "reports/index.html is out of date: python -m reports page"


def test_page_reads_as_a_report():
    """The answer first, numbers formatted for people, model-only rows in their own table without dashes."""
    html = (REPORTS / "index.html").read_text()
    rows, _ = rows_from_json(REPORTS / "ppa.json")
    assert html.index("<table id=ratios>") < html.index("<table id=measured>") < html.index("<table id=model>")
    assert html.index("<table id=ratios>") < html.index("<h2>Plots</h2>")
    assert "e+0" not in html and "&times;0.76" in html  # no 1.094e+04, ratios as x0.76
    parallel = next(r for r in rows if r.id == "parallel_w2a2_n32")
    assert f"{parallel.area_um2:,.0f}" in html  # 10,944
    model = html[html.index("<table id=model>"):]
    model = model[:model.index("</table>")]
    assert "&ndash;" not in model
    assert model.count("data-design=") == sum(r.status == "model-only" for r in rows)


def _chromium(need_tools) -> None:
    need_tools("chromium")


@pytest.mark.slow
def test_committed_page_in_headless_chromium(need_tools, tmp_path):
    """reports/index.html in a 1280 px window: every image loads, every table row is shown, one row per design
    of ppa.json, nothing wider than the window; the full-page screenshot is saved (here under tmp_path;
    `python -m reports check` saves reports/index.png beside the report)."""
    _chromium(need_tools)
    from reports.browser import check_page

    rows, _ = rows_from_json(REPORTS / "ppa.json")
    res = check_page(REPORTS / "index.html", tmp_path / "index.png", [r.id for r in rows])
    assert res.problems == []
    f = res.facts
    n_plots = len(list((REPORTS / "plots").glob("*.png")))
    n_layouts = len(list((REPORTS / "layouts").glob("*.png")))
    n_dse = len(list((REPORTS / "dse").glob("*.png"))) if (REPORTS / "dse.json").is_file() else 0  # the DSE section's
    assert len(f["images"]) == n_plots + n_layouts + n_dse and all(i["ok"] and i["width"] > 100 for i in f["images"])
    assert sorted(f["designs"]) == sorted(r.id for r in rows) and not f["hidden_rows"]
    assert f["scroll_width"] <= f["window_width"] == 1280
    assert f["first_h2"] == "Encoded PE against the conventional baseline"
    from PIL import Image

    with Image.open(res.screenshot) as im:
        assert im.width == 1280 and im.height > 2000


@pytest.mark.slow
def test_chromium_check_catches_a_broken_page(need_tools, tmp_path):
    """A missing image, a hidden row and a table wider than the window are all reported."""
    _chromium(need_tools)
    from reports.browser import check_page

    shutil.copy(REPORTS / "plots" / "area_vs_bits.png", tmp_path / "ok.png")
    wide = "".join(f"<td>column_{i}_with_a_long_name</td>" for i in range(60))
    (tmp_path / "index.html").write_text(
        "<!doctype html><html><body><img src='ok.png'><img src='missing.png'>"
        "<table><tr data-design='a'><td>a</td></tr><tr data-design='b' style='display:none'><td>b</td></tr>"
        f"<tr>{wide}</tr></table></body></html>")
    res = check_page(tmp_path / "index.html", None, ["a", "b"])
    text = "\n".join(res.problems)
    assert "image missing.png did not load" in text and "ok.png" not in text
    assert "table row not shown" in text and "designs without a displayed row: b" in text
    assert "px wide in a 1280 px window" in text
    assert json.dumps(res.facts)  # plain data
