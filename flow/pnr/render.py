"""Headless PNG of a GDS with the klayout Python module (no display needed)."""

from __future__ import annotations

from pathlib import Path

from common.files import atomic_output


def render(gds: Path, png: Path, lyp: Path | None, width_px: int = 1600) -> Path:
    """Draw the whole layout, all hierarchy levels, with the PDK layer colours when the .lyp exists."""
    import klayout.lay as lay

    view = lay.LayoutView()
    view.set_config("background-color", "#ffffff")
    view.set_config("grid-visible", "false")
    view.set_config("text-visible", "false")  # pin and cell labels hide the layout at this scale
    view.load_layout(str(gds), True)
    if lyp is not None and Path(lyp).is_file():
        view.load_layer_props(str(lyp))
    view.max_hier()
    view.zoom_fit()
    bb = view.cellview(0).cell.dbbox()
    height = max(1, int(width_px * max(bb.height(), 1e-3) / max(bb.width(), 1e-3)))
    png.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(png) as tmp:  # a per-process name: two renders never share a temp file
        view.save_image(str(tmp), width_px, height)
    return png
