"""Routed DEF + cell GDS -> one flat-topped GDS with the klayout Python module (magic's own merge was broken)."""

from __future__ import annotations

from pathlib import Path

from common.files import atomic_output
from flow.pnr.tech import GDS_PATCHES, PnrTech


def def_to_gds(t: PnrTech, routed_def: Path, out_gds: Path, top: str) -> dict[str, float]:
    """Read the DEF with the tech/cell LEFs, resolve cells from the PDK GDS, add the pin landings' mcon + met1 (tech.LANDINGS), write GDS."""
    import klayout.db as db

    opt = db.LoadLayoutOptions()
    c = opt.lefdef_config
    c.lef_files = [str(t.pdk.techlef), str(t.pdk.lef)]
    c.read_lef_with_def = False
    c.macro_layout_files = [str(t.pdk.gds)]
    c.macro_resolution_mode = 2  # take cell layouts from the GDS, not LEF abstracts
    c.map_file = str(t.klayout_map)
    c.dbu = 0.001
    c.produce_cell_outlines = False
    ly = db.Layout()
    ly.read(str(routed_def), opt)
    cells = [tc for tc in ly.top_cells() if tc.name == top]
    if not cells:
        raise ValueError(f"no top cell {top} in {routed_def}: top cells are {[c.name for c in ly.top_cells()]}")
    tc = cells[0]
    patched = 0
    patch = GDS_PATCHES
    for inst in tc.each_inst():
        for (layer, dtype), (x1, y1, x2, y2) in patch.get(inst.cell.name, ()):
            tc.shapes(ly.layer(layer, dtype)).insert(db.DBox(x1, y1, x2, y2).transformed(inst.dcplx_trans))
            patched += 1
    for other in list(ly.top_cells()):
        if other.cell_index() != tc.cell_index():
            ly.delete_cell_rec(other.cell_index())
    out_gds.parent.mkdir(parents=True, exist_ok=True)
    opts = db.SaveLayoutOptions()
    opts.gds2_write_timestamps = False  # byte-identical output for the same input
    with atomic_output(out_gds) as tmp:  # a per-process temp name
        ly.write(str(tmp), opts)
    bb = tc.dbbox()
    return {"instances": tc.child_instances(), "dfxtp4_patches": patched, "width_um": bb.width(), "height_um": bb.height()}
