"""LVS-neutral post-route GDS repair of qrouter output (klayout): every added shape joins geometry of one net.

1. li1 via-pad nudge: an L1M1 via whose li1 pad sticks out of the cell pin it lands on moves into the pin.
2. same-pin double L1M1 vias closer than mcon spacing are bridged on met1, one cut kept.
3. li1 slivers (<= 20 nm) from offset taps are clipped, and qrouter's li1 tap stubs that lie inside an L1M1 via's li1
   pad are dropped: the pad covers them, and a stub left behind where step 1 moved the pad away is the li1 the pad
   stuck out of the pin with (li.3 beside a neighbouring pin).
4. met1..met4 notch fill and small-hole fill; 5. islands below minimum area are extended.
0. (with the routed DEF) gaps below the spacing rule between two pieces of one net's met2..met4 are bridged, and
   qrouter's SPECIALNETS patches are trimmed to the metal they join (``stub_trims``).
Every added shape lies on the 5 nm manufacturing grid.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import klayout.db as db

from common.files import atomic_output

# layer: (gds layer, spacing um, min area um^2, preferred direction)
METALS = {
    "met1": (68, 0.14, 0.083, "h"),
    "met2": (69, 0.14, 0.0676, "v"),
    "met3": (70, 0.30, 0.24, "h"),
    "met4": (71, 0.30, 0.24, "v"),
}
NUDGE_MAX_STEPS = 30  # 5 nm steps -> at most 150 nm
GRID_UM = 0.005  # sky130 manufacturing grid: every vertex a repair adds lies on it (KLayout's offgrid checks)


def on_grid(box: "db.Box", grid: int) -> "db.Box":
    """``box`` grown outwards to the next grid lines (integer database units)."""
    import klayout.db as db

    return db.Box(box.left // grid * grid, box.bottom // grid * grid, -(-box.right // grid) * grid,
                  -(-box.top // grid) * grid)


GAP_LAYERS = ("met2", "met3", "met4")
"""Layers of the qrouter patches ``stub_trims`` trims: they hold routed metal only (the cells' own metal is li1 and
met1), so the routed DEF names the net of every shape on them."""
NET_GAP_LAYERS = ("met1",) + GAP_LAYERS
"""Layers whose same-net gaps are bridged. On met1 the cells' rails have no net in the DEF: a polygon that touches
no routed metal is never bridged, and a bridge must stay clear of every other polygon, rails included."""


def bridge_box(a: "db.Box", b: "db.Box", min_width: int) -> "db.Box":
    """The bridge between two facing edges (their bounding boxes ``a`` and ``b``, database units) of a gap: the gap
    over the stretch where the edges face each other when that stretch is at least ``min_width`` long, else the
    bounding box of both edges. A Euclidean edge pair reaches up to the spacing past the facing stretch; a bridge that
    wide overhangs the narrower piece and leaves a step the notch fill turns into a staircase with a new notch
    (met2.2 on parallel_twos_w1a1_n32: a 0.26 via pad 0.11 above a wire, the bridge 0.09 wider than the pad)."""
    import klayout.db as db

    box = a + b
    if a.height() == 0 and b.height() == 0:  # horizontal edges: the gap is vertical
        lo, hi = max(a.left, b.left), min(a.right, b.right)
        if hi - lo >= min_width:
            return db.Box(lo, box.bottom, hi, box.top)
    elif a.width() == 0 and b.width() == 0:
        lo, hi = max(a.bottom, b.bottom), min(a.top, b.top)
        if hi - lo >= min_width:
            return db.Box(box.left, lo, box.right, hi)
    return box


def same_net_gap_fills(layer: "db.Region", nets: dict[str, "db.Region"], space: int, grid: int) -> "db.Region":
    """Bridges (database units) for the gaps below ``space`` between two polygons of ``layer`` (the merged metal of
    one layer in the GDS) that both belong to one net and to no other: a polygon belongs to the nets of ``nets``
    (each net's routed metal from the DEF) it touches. Each bridge is the bounding box of the gap, grown to the
    ``grid``, kept only when it stays ``space`` clear of every other polygon. qrouter 1.4.71 leaves such gaps at I/O
    pins on the die edge: an M1M2 via on the pin's row and the met2 wire from the grid row next to it, 0.11 um apart
    (met2.2, and an open that LVS did not report: serial_w3a3_n32 pin ``a[43]``)."""
    import klayout.db as db

    boxes = {n: r.bbox() for n, r in nets.items()}

    def owners(poly: "db.Region") -> set[str]:
        bb = poly.bbox()
        return {n for n, r in nets.items() if boxes[n].touches(bb) and not poly.interacting(r).is_empty()}

    fills = db.Region()
    for ep in layer.isolated_check(space).each():
        pa, pb = layer.interacting(db.Edges([ep.first])), layer.interacting(db.Edges([ep.second]))
        if pa.count() != 1 or pb.count() != 1:
            continue
        oa, ob = owners(pa), owners(pb)
        if len(oa) != 1 or oa != ob:
            continue
        fill = db.Region(on_grid(bridge_box(ep.first.bbox(), ep.second.bbox(), space), grid))
        rest = layer.interacting(fill.sized(space - 1)) - pa - pb
        if rest.is_empty():
            fills.insert(fill)
    return fills.merged()


def special_stubs(def_text: str) -> list[tuple[str, str, tuple[int, int, int, int], tuple[tuple[int, int], ...]]]:
    """qrouter's SPECIALNETS patches of ``GAP_LAYERS``: (net, layer, rectangle in nm, its two end points in nm), one
    per two-point segment. A special wire has no end extension (magic paints ``( x y1 ) ( * y2 )`` at width w as
    exactly [x - w/2, x + w/2] x [y1, y2])."""
    import re

    from flow.pnr.defparse import def_scale, section_blocks

    s = def_scale(def_text)
    out = []
    for net, blk in section_blocks(def_text, "SPECIALNETS"):
        for lay, w, x1, y1, x2, y2 in re.findall(r"(met\d) (\d+) \( (-?\d+) (-?\d+) \) \( ([-\d*]+) ([-\d*]+) \)", blk):
            if lay not in GAP_LAYERS:
                continue
            ax, ay = int(x1) * s, int(y1) * s
            bx, by = (ax if x2 == "*" else int(x2) * s), (ay if y2 == "*" else int(y2) * s)
            h = int(w) * s // 2
            if ax == bx:
                rect = (ax - h, min(ay, by), ax + h, max(ay, by))
            elif ay == by:
                rect = (min(ax, bx), ay - h, max(ax, bx), ay + h)
            else:
                continue
            out.append((net, lay, rect, ((ax, ay), (bx, by))))
    return out


def stub_trims(stubs: list, nets: dict[str, dict[str, "db.Region"]], min_width: int) -> dict[str, "db.Region"]:
    """Per layer, the metal (nm) to take off qrouter's patches: each is cut down, across its direction, to where the
    metal at both of its ends overlaps (``nets``: each net's routed metal without the patches, per layer), so it
    fills the gap between the two pieces it joins and no more; what other metal of its net covers is kept.

    qrouter 1.4.71 writes a patch 0.32 um wide between close vias of a net, wider than the 0.26 um met2 pad of an
    M1M2 via across it: on parallel_twos_w2a2_n32 two such patches on neighbouring columns (nets ``w[51]`` and
    ``a[7]``) came 0.135 um apart corner to corner (met2.2). On met4 its patches are 1.18 um wide (the met4 pad of an
    M4M5 via) where they join an M3M4 pad (0.33) to a wire: 0.295 um from the next met4 column on parallel_w4a4_n32
    and seven more designs (met4.2), and across another net's pad (a short in the DEF that the cut removes). The
    metal at an end is measured on the line across the patch through it: the bounding box of the wire there kept
    the whole side of the patch an L-shaped wire runs on. A patch is left as it is when the band would be narrower
    than ``min_width``, when an end touches none of the net's metal, or when the cut would split the net."""
    import klayout.db as db

    out: dict[str, db.Region] = {}
    for net, lay, (x1, y1, x2, y2), ends in stubs:
        metal = nets.get(lay, {}).get(net)
        if metal is None:
            continue
        vertical = ends[0][0] == ends[1][0]
        lo, hi = (x1, x2) if vertical else (y1, y2)
        for ex, ey in ends:
            # the net's metal on the line across the patch through this end (an L-shaped wire reaches past the
            # patch along one side only: its bounding box would keep all of the patch on that side)
            across = db.Box(x1, ey - 1, x2, ey + 1) if vertical else db.Box(ex - 1, y1, ex + 1, y2)
            at = (metal & db.Region(across)).interacting(db.Region(db.Box(ex - 1, ey - 1, ex + 1, ey + 1)))
            if at.is_empty():
                lo = hi  # an end joins nothing of its net here: leave this patch alone
                break
            bb = at.bbox()
            lo, hi = (max(lo, bb.left), min(hi, bb.right)) if vertical else (max(lo, bb.bottom), min(hi, bb.top))
        if hi - lo < min_width or (hi - lo) >= ((x2 - x1) if vertical else (y2 - y1)):
            continue
        rect = db.Region(db.Box(x1, y1, x2, y2))
        band = db.Region(db.Box(lo, y1, hi, y2) if vertical else db.Box(x1, lo, x2, hi))
        cut = rect - band - metal
        if cut.is_empty():
            continue
        near = metal.interacting(rect)
        if ((near + band).merged().count() != (near + rect).merged().count()):
            continue  # the band alone would leave a piece of the net cut off
        out.setdefault(lay, db.Region()).insert(cut)
    return {k: v.merged() for k, v in out.items()}


def patched_metal(def_text: str) -> tuple[dict[str, "db.Region"], dict[str, dict[str, list]]]:
    """The routed metal as the repaired GDS has it: (per layer, the metal ``stub_trims`` takes off qrouter's patches;
    {layer: {net: [polygons, nm]}} of every net with its patches, trimmed). The cut never takes another net's metal:
    where a patch overlaps it (a short in the DEF), the trimmed patch may no longer reach it."""
    import klayout.db as db

    from flow.pnr import netcheck

    plain = netcheck.net_shapes(def_text, sections=("NETS",))  # each net's metal without qrouter's patches
    merged = {lay: {n: db.Region(p).merged() for n, p in per.items()} for lay, per in plain.items()}
    cuts = stub_trims(special_stubs(def_text), merged, int(round(0.14 * 1000)))
    trims = {}
    for lay, cut in cuts.items():
        every = db.Region()
        for region in merged.get(lay, {}).values():
            every.insert(region)
        trims[lay] = cut - every
    shapes = {lay: {n: list(polys) for n, polys in per.items()} for lay, per in plain.items()}
    for lay, per in netcheck.net_shapes(def_text, sections=("SPECIALNETS",)).items():
        cut = cuts.get(lay)  # what the cut leaves of another net's metal is that net's, not the patch's
        for n, polys in per.items():
            kept = list((db.Region(polys) - cut).each()) if cut is not None else polys
            shapes.setdefault(lay, {}).setdefault(n, []).extend(kept)
    return trims, shapes


MINAREA_REACH_UM = 0.5
"""Largest growth per axis of ``both_axes_extension`` (a via2+via3 island needs about 0.2 um each way)."""


def both_axes_extension(bb: "db.Box", amin: float, dbu: float, space: int, grid: int,
                        others_near: Callable[["db.Box"], "db.Region"], reach_um: float = MINAREA_REACH_UM
                        ) -> "db.Box | None":
    """The smallest rectangle (of equal areas, the most centred) holding ``bb`` with area at least ``amin`` um^2,
    grown on both axes by up to ``reach_um`` each, that keeps ``space`` (database units) from every other shape
    (``others_near(box)``: the metal near a box, the island itself left out); None when none fits. Edges stay on the
    ``grid``. It is the fallback for an island that cannot reach the area along one axis alone: on baseline_w4a4_n32
    (keep-out late, pad edits) a via2+via3 met3 island of 0.125 um^2 had 0.30 um free in x where 0.35 were needed
    and 0.115 in y where 0.31 were, and a 0.68 x 0.36 um rectangle fits."""
    import klayout.db as db

    need = amin / (dbu * dbu)  # database units squared
    w, h = bb.width(), bb.height()
    reach = int(round(reach_um / dbu))
    sizes = []
    for ex in range(0, reach + 1, grid):
        height = -int(-need // (w + ex))  # the least height that gives the area at this width
        ey = max(0, -(-(height - h) // grid) * grid)
        if ey <= reach:
            sizes.append(((w + ex) * (h + ey), ex, ey))
    for _area, ex, ey in sorted(sizes):
        for fx in (0.5, 0.0, 1.0):
            lx = int(round(ex * fx / grid)) * grid
            for fy in (0.5, 0.0, 1.0):
                ly = int(round(ey * fy / grid)) * grid
                nb = db.Box(bb.left - lx, bb.bottom - ly, bb.right + ex - lx, bb.top + ey - ly)
                keepout = db.Region(nb).sized(space - 1)
                if others_near(keepout.bbox()).interacting(keepout).is_empty():
                    return nb
    return None


def repair(in_gds: Path, out_gds: Path, routed_def: Path | None = None,
           patched: tuple[dict[str, "db.Region"], dict[str, dict[str, list]]] | None = None) -> dict[str, int]:
    """Apply the repairs to in_gds and write out_gds; returns counts of each repair. With ``routed_def`` (the DEF
    the GDS was made from) qrouter's patches are trimmed and same-net gaps on ``NET_GAP_LAYERS`` bridged first;
    ``patched``: that DEF's ``patched_metal`` when the caller has it already (it is read again otherwise)."""
    import klayout.db as db

    ly = db.Layout()
    ly.read(str(in_gds))
    top = ly.top_cells()[0]
    dbu = ly.dbu
    U = lambda um: int(round(um / dbu))  # noqa: E731
    LI, MCON, M1 = ly.layer(67, 20), ly.layer(67, 44), ly.layer(68, 20)
    stats = {"via_nudge": 0, "via_nudge_fail": 0, "pair_merge": 0, "li1_clip": 0, "li1_stub": 0, "notch": 0,
             "holes": 0, "minarea": 0, "minarea_fail": 0, "net_gap": 0, "stub_trim": 0}
    if routed_def is not None:
        trims, shapes = patched_metal(Path(routed_def).read_text()) if patched is None else patched
        scale = 1000 * dbu  # netcheck works in nm
        for name, cut in trims.items():
            L = ly.layer(METALS[name][0], 20)
            own = db.Region(top.shapes(L))
            top.shapes(L).clear()
            top.shapes(L).insert(own - cut.transformed(db.ICplxTrans(1 / scale)))
            stats["stub_trim"] += cut.count()
        for name in NET_GAP_LAYERS:
            gl, sp, _amin, _pdir = METALS[name]
            L = ly.layer(gl, 20)
            allr = db.Region(top.begin_shapes_rec(L)).merged()
            nets = {n: db.Region(polys).transformed(db.ICplxTrans(1 / scale)).merged()
                    for n, polys in shapes.get(name, {}).items()}
            fills = same_net_gap_fills(allr, nets, U(sp), U(GRID_UM))
            if not fills.is_empty():
                top.shapes(L).insert(fills)
                stats["net_gap"] += fills.count()

    cell_li = db.Region()
    for inst in top.each_inst():
        if inst.cell.name.startswith("sky130_fd_sc_hd__"):
            cell_li.insert(db.Region(inst.cell.begin_shapes_rec(LI)).transformed(inst.cplx_trans))
    cell_li.merge()
    index_layer = ly.insert_layer(db.LayerInfo(10000, 0))  # scratch layer: spatially indexed local queries

    def indexed(region: "db.Region") -> "db.Cell":
        """Put a region in a scratch cell so 'touching box' queries use klayout's shape index."""
        cell = ly.create_cell(f"_bb_index_{ly.cells()}")
        cell.shapes(index_layer).insert(region)
        return cell

    def near(cell: "db.Cell", box: "db.Box") -> "db.Region":
        return db.Region(cell.begin_shapes_rec_touching(index_layer, box))

    li_index = indexed(cell_li)

    via_insts = [inst for inst in top.each_inst() if inst.cell.name.startswith("VIA_L1M1")]
    via_li = db.Region()
    for inst in via_insts:
        via_li.insert(db.Region(inst.cell.begin_shapes_rec(LI)).transformed(inst.cplx_trans))
    top_li = db.Region(top.shapes(LI)).merged()
    stubs = top_li.inside(via_li.merged())
    rest = top_li - stubs
    slivers = db.Region([p for p in (rest - cell_li).each() if min(p.bbox().width(), p.bbox().height()) <= U(0.02)])
    if not (slivers.is_empty() and stubs.is_empty()):
        stats["li1_clip"], stats["li1_stub"] = slivers.count(), stubs.count()
        top.shapes(LI).clear()
        top.shapes(LI).insert(rest - slivers)

    vias = []
    for inst in via_insts:
        ct = inst.cplx_trans
        vias.append({"li": db.Region(inst.cell.begin_shapes_rec(LI)).transformed(ct),
                     "cut": db.Region(inst.cell.begin_shapes_rec(MCON)).transformed(ct),
                     "met": db.Region(inst.cell.begin_shapes_rec(M1)).transformed(ct), "drop": False})
    for inst in via_insts:  # deleted after all are read: a read after each delete re-derived the layout (25 of 35 s)
        inst.delete()

    for v in vias:
        pad = v["li"]
        local_li = near(li_index, pad.bbox())
        if (pad - local_li).is_empty():
            continue
        pin = local_li.interacting(pad)
        best = None
        for r in range(1, NUDGE_MAX_STEPS + 1):
            for dx, dy in ((r, 0), (-r, 0), (0, r), (0, -r), (r, r), (r, -r), (-r, r), (-r, -r)):
                t = db.Trans(dx * U(0.005), dy * U(0.005))
                if (pad.transformed(t) - pin).is_empty():
                    best = t
                    break
            if best:
                break
        if not best:
            stats["via_nudge_fail"] += 1
            continue
        mb, cb = v["met"].bbox(), v["cut"].bbox()
        enc = (cb.left - mb.left, cb.bottom - mb.bottom, mb.right - cb.right, mb.top - cb.top)
        ncb = cb.transformed(best)
        v["met"] = v["met"] + db.Region(db.Box(ncb.left - enc[0], ncb.bottom - enc[1], ncb.right + enc[2], ncb.top + enc[3]))
        v["li"] = pad.transformed(best)
        v["cut"] = v["cut"].transformed(best)
        stats["via_nudge"] += 1

    all_m1 = db.Region(top.begin_shapes_rec(M1))
    for v in vias:
        all_m1 += v["met"]
    all_m1.merge()
    cuts = [v["cut"].bbox() for v in vias]
    order = sorted(range(len(vias)), key=lambda i: cuts[i].left)
    pair_gap = U(0.19)
    for oi, i in enumerate(order):  # sweep in x: only cuts closer than the mcon spacing can pair
        a, ca = vias[i], cuts[i]
        for j in order[oi + 1 :]:
            cb = cuts[j]
            if cb.left - ca.right >= pair_gap:
                break
            b = vias[j]
            if a["drop"] or b["drop"]:
                continue
            gap = max(ca.left - cb.right, cb.left - ca.right, ca.bottom - cb.top, cb.bottom - ca.top)
            if gap >= pair_gap or gap < 0:
                continue
            pa, pb = near(li_index, a["li"].bbox()).interacting(a["li"]), near(li_index, b["li"].bbox()).interacting(b["li"])
            if pa.count() != 1 or pb.count() != 1 or not (pa ^ pb).is_empty():
                continue
            ab, bb = a["met"].bbox(), b["met"].bbox()
            fill = db.Box(min(ab.left, bb.left), min(ab.bottom, bb.bottom), max(ab.right, bb.right), max(ab.top, bb.top))
            own = all_m1.interacting(a["met"]) + all_m1.interacting(b["met"])
            if not (all_m1 - own).interacting(db.Region(fill).sized(U(0.14) - 1)).is_empty():
                continue
            a["met"] = a["met"] + b["met"] + db.Region(fill)
            b["drop"] = True
            stats["pair_merge"] += 1
    for v in vias:
        if v["drop"]:
            top.shapes(M1).insert(v["met"])
            continue
        top.shapes(LI).insert(v["li"])
        top.shapes(MCON).insert(v["cut"])
        top.shapes(M1).insert(v["met"])

    for gl, sp, amin, pdir in METALS.values():
        L = ly.layer(gl, 20)
        allr = db.Region(top.begin_shapes_rec(L)).merged()
        for _ in range(3):
            ep = allr.notch_check(U(sp))
            if ep.is_empty():
                break
            fill = db.Region()
            for p in ep.each():
                fill.insert(on_grid(p.bbox(), U(GRID_UM)))  # a Euclidean edge pair can end off the grid
            fill.merge()
            stats["notch"] += fill.count()
            top.shapes(L).insert(fill)
            allr = (allr + fill).merged()
        holes = db.Region([db.Polygon(list(p.each_point_hole(i))) for p in allr.each() for i in range(p.holes())])
        small = [h for h in holes.each() if h.area() * dbu * dbu < 0.3]
        if small:
            top.shapes(L).insert(db.Region(small))
            stats["holes"] += len(small)
            allr = (allr + db.Region(small)).merged()
        metal_index = indexed(allr)
        for poly in list(allr.each()):
            if poly.area() * dbu * dbu >= amin - 1e-9:
                continue
            bb = poly.bbox()
            done = False
            for d in (pdir, "v" if pdir == "h" else "h"):
                w = bb.height() if d == "h" else bb.width()
                need = int(-(-amin / (w * dbu) // 0.01)) * U(0.01) + U(0.01)
                ext = max(need - (bb.width() if d == "h" else bb.height()), 0)
                ext += ext % (2 * U(0.005))
                for frac in (0.5, 0.0, 1.0):
                    lo = int(round(ext * frac / U(0.005))) * U(0.005)
                    hi = ext - lo
                    nb = (db.Box(bb.left - lo, bb.bottom, bb.right + hi, bb.top) if d == "h"
                          else db.Box(bb.left, bb.bottom - lo, bb.right, bb.top + hi))
                    keepout = db.Region(nb).sized(U(sp) - 1)
                    others = near(metal_index, keepout.bbox()) - db.Region(poly)
                    if not others.interacting(keepout).is_empty():
                        continue
                    top.shapes(L).insert(nb)
                    metal_index.shapes(index_layer).insert(nb)  # later extensions must keep clear of this one
                    done = True
                    stats["minarea"] += 1
                    break
                if done:
                    break
            if not done:
                nb = both_axes_extension(bb, amin, dbu, U(sp), U(GRID_UM),
                                         lambda box: near(metal_index, box) - db.Region(poly))
                if nb is not None:
                    top.shapes(L).insert(nb)
                    metal_index.shapes(index_layer).insert(nb)
                    done = True
                    stats["minarea"] += 1
            if not done:
                stats["minarea_fail"] += 1
    for cell in list(ly.top_cells()):  # scratch index cells and the now unused L1M1 via cells
        if cell.cell_index() != top.cell_index():
            ly.delete_cell_rec(cell.cell_index())
    ly.delete_layer(index_layer)
    opts = db.SaveLayoutOptions()
    opts.gds2_write_timestamps = False  # byte-identical output for the same input
    with atomic_output(out_gds) as tmp:  # a per-process temp name
        ly.write(str(tmp), opts)
    return stats
