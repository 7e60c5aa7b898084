"""`serial` PE: one branch unit reused over the WBITS*ABITS bit-plane pairs, Horner accumulation, II = W*A.

Steps follow ``model.cycle.serial_schedule``: the weight planes high to low (outer; the activation planes when there
are more of them), the inner planes in a snake, the accumulator doubled only where a step needs it and the popcount
shifted on the ascending runs, so the plane selects change as rarely as the walk allows:
acc <- (dbl ? 2 acc : acc) + s_i 2^sh pc(i, j); after the last
step y = 2^pc_shift acc - constant, with the plane signs s_i, pc_shift and the constant of the spec's encoding (pm1:
all +1, 1, N (2^W-1)(2^A-1); twos: the top weight plane -1, 0, 0). The last step's sum goes to y only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from model.compressor import popcount_stats
from model.cycle import SerialModel, serial_model, serial_schedule
from model.energy_activity import Activity, serial_activity
from model.spec import DesignSpec
from rtl.archs import Architecture, Manifest, Style
from rtl.design import LATENCY_DEFINITION, ArchDesign, port_list
from rtl.verilog import (
    FOOTER,
    ModuleText,
    adder_cell_modules,
    branch_module,
    clog2,
    constant_text,
    encoded_parts,
    header,
    plane_expr,
    popcount_module,
    signed_planes_note,
)

if TYPE_CHECKING:
    import numpy as np


def plane_mux(name: str, sel: str, sel_bits: int, planes: list[str], n: int) -> list[str]:
    """A combinational plane multiplexer (case on ``sel``)."""
    if len(planes) == 1:
        return [f"    wire [{n - 1}:0] {name} = {planes[0]};"]
    lines = [f"    reg [{n - 1}:0] {name};", "    always @* begin", f"        case ({sel})"]
    lines += [f"            {sel_bits}'d{p}: {name} = {src};" for p, src in enumerate(planes)]
    lines += [f"            default: {name} = {planes[0]};", "        endcase", "    end"]
    return lines


def clock_gated(spec: DesignSpec) -> bool:
    """Whether the operand and result registers get gated clocks: from two steps on, where they hold for W*A - 1
    of every W*A cycles (at one step they load every cycle and a gate would only add a cell)."""
    return len(serial_schedule(spec.wbits, spec.abits)) > 1


GATE_NOTE = ("latch-free OR clock gate: gclk = clk | ~en with en a function of registers only, so it settles while "
             "clk is high and gclk has no glitch; a register on gclk is clocked only at edges where en is 1 and needs "
             "no hold multiplexer")


def operand_registers(gated: bool) -> list[str]:
    """s1_w/s1_a: loaded on accept (plain clock), or, gated, clocked at every edge where in_ready is 1 (a function
    of registers only in the gated design): the accepted input, or, without in_valid, an input nobody reads."""
    if not gated:
        return ["    always @(posedge clk) begin", "        if (accept) begin", "            s1_w <= w;",
                "            s1_a <= a;", "        end", "    end"]
    return [
        f"    // {GATE_NOTE}",
        "    wire s1_gclk = clk | ~in_ready;",
        "    always @(posedge s1_gclk) begin",
        "        s1_w <= w;",
        "        s1_a <= a;",
        "    end",
    ]


def accumulator_register(gated: bool) -> list[str]:
    """acc: loaded at every step but the last (acc_en; the last sum goes to y only), with a hold multiplexer on clk
    or on a clock gated by acc_en."""
    en = "    wire acc_en = step_en & ~last;"
    if not gated:
        return [en, "    always @(posedge clk) begin", "        if (acc_en) acc <= acc_next;", "    end"]
    return [en, "    wire acc_gclk = clk | ~acc_en;", "    always @(posedge acc_gclk) begin", "        acc <= acc_next;",
            "    end"]


def result_register(gated: bool) -> list[str]:
    """y: loaded when the last step completes (fin), with a hold multiplexer on clk or on a clock gated by fin."""
    if not gated:
        return ["    always @(posedge clk) begin", "        if (fin) y <= y_next;", "    end"]
    return ["    wire y_gclk = clk | ~fin;", "    always @(posedge y_gclk) begin", "        y <= y_next;", "    end"]


def generate_serial(spec: DesignSpec) -> ArchDesign:
    """Build the serial PE: operand register, one branch unit, step counter, accumulator, output register."""
    m, k, n, ow = spec.wbits, spec.abits, spec.n, spec.out_width
    enc = spec.enc
    top, tree, pc_name, br_name, const, signs = encoded_parts(spec)
    pw = tree.width
    shift = enc.pc_shift
    steps = serial_schedule(m, k)
    nsteps = len(steps)
    max_sh = max(st[3] for st in steps)
    cw, iw, jw, sw = clog2(nsteps), clog2(m), clog2(k), clog2(max_sh + 1)
    # pm1: acc <= N (2^W-1)(2^A-1) = y_max at every step (Horner partial sums never exceed the total), and
    # y = 2 acc - const; with signed planes the accumulator is y itself, modulo 2^out_width
    aw = ow - shift
    step_signs = [signs[st[0]] for st in steps]
    mixed = len(set(step_signs)) > 1  # some steps add, some subtract: a per-step 'sub' bit
    gated = clock_gated(spec)
    body: list[str] = [
        header(spec, top, f"serial encoded PE: 1 branch unit of {n} elements over {nsteps} steps, "
               f"latency {nsteps}, II {nsteps}"),
        f"module {top} (",
        port_list(spec) + ");",
        "    reg live;",
        "    reg busy;",
        f"    reg [{cw - 1}:0] step;",
        f"    reg [{spec.w_width - 1}:0] s1_w;",
        f"    reg [{spec.a_width - 1}:0] s1_a;",
        f"    wire last = (step == {cw}'d{nsteps - 1});",
        *(["    // the last step waits for an empty y register, so every enable is a function of registers only",
           "    wire out_free = ~out_valid;"] if gated else ["    wire out_free = ~out_valid | out_ready;"]),
        "    wire step_en = busy & (~last | out_free);",
        "    wire fin = step_en & last;",
        "    assign in_ready = live & (~busy | fin);",
        "    wire accept = in_valid & in_ready;",
        "    always @(posedge clk) begin",
        "        if (!rst_n) begin",
        "            live <= 1'b0;",
        "            busy <= 1'b0;",
        f"            step <= {cw}'d0;",
        "            out_valid <= 1'b0;",
        "        end else begin",
        "            live <= 1'b1;",
        "            if (accept) begin",
        "                busy <= 1'b1;",
        f"                step <= {cw}'d0;",
        "            end else if (step_en) begin",
        "                busy <= ~last;",
        f"                step <= last ? {cw}'d0 : step + {cw}'d1;",
        "            end",
        "            if (fin) out_valid <= 1'b1;",
        "            else if (out_ready) out_valid <= 1'b0;",
        "        end",
        "    end",
    ]
    body += operand_registers(gated)
    # step table: which planes and whether the accumulator doubles first
    decl = []
    if m > 1:
        decl.append(f"    reg [{iw - 1}:0] isel;")
    if k > 1:
        decl.append(f"    reg [{jw - 1}:0] jsel;")
    if nsteps > 1:
        decl.append("    reg dbl;")
    if mixed:
        decl.append("    reg sub;")
    if max_sh:
        decl.append(f"    reg [{sw - 1}:0] sh;")
    body += decl
    if decl:
        body += ["    always @* begin", "        case (step)"]
        for t, (i, j, dbl, shv) in enumerate(steps):
            acts = ([f"isel = {iw}'d{i};"] if m > 1 else []) + ([f"jsel = {jw}'d{j};"] if k > 1 else [])
            acts.append(f"dbl = 1'b{int(dbl)};")
            if mixed:
                acts.append(f"sub = 1'b{int(signs[i] < 0)};")
            if max_sh:
                acts.append(f"sh = {sw}'d{shv};")
            body.append(f"            {cw}'d{t}: begin {' '.join(acts)} end")
        dflt = ([f"isel = {iw}'d0;"] if m > 1 else []) + ([f"jsel = {jw}'d0;"] if k > 1 else []) + ["dbl = 1'b0;"]
        dflt += ["sub = 1'b0;"] if mixed else []
        dflt += [f"sh = {sw}'d0;"] if max_sh else []
        body += [f"            default: begin {' '.join(dflt)} end", "        endcase", "    end"]
    body += plane_mux("wsel", "isel", iw, [plane_expr("s1_w", m, i, n) for i in range(m)], n)
    body += plane_mux("asel", "jsel", jw, [plane_expr("s1_a", k, j, n) for j in range(k)], n)
    body += [
        f"    wire [{pw - 1}:0] pc;",
        f"    {br_name} u_branch (.wp(wsel), .ap(asel), .pc(pc));",
    ]
    pad = aw - pw
    pc_ext = "pc" if pad == 0 else f"{{{{{pad}{{1'b0}}}}, pc}}"
    if max_sh:  # the step's popcount weighted by 2^sh (the inner plane index)
        body.append(f"    wire [{aw - 1}:0] pc_sh = {pc_ext} << sh;")
        pc_ext = "pc_sh"
    if mixed:
        add = f"sub ? acc_base - {pc_ext} : acc_base + {pc_ext}"
    elif step_signs[0] < 0:
        add = f"acc_base - {pc_ext}"
    else:
        add = f"acc_base + {pc_ext}"
    if nsteps > 1:
        body += [
            f"    reg [{aw - 1}:0] acc;",
            f"    wire [{aw - 1}:0] acc_base = (step == {cw}'d0) ? {aw}'d0 : (dbl ? {{acc[{aw - 2}:0], 1'b0}} : acc);",
            f"    wire [{aw - 1}:0] acc_next = {add};",
            *accumulator_register(gated),
        ]
    else:
        only = pc_ext if step_signs[0] > 0 else f"{aw}'d0 - {pc_ext}"
        body.append(f"    wire [{aw - 1}:0] acc_next = {only};")
    scale = f"{1 << shift} " if shift else ""
    y_expr = f"{{acc_next, {shift}'b0}}" if shift else "acc_next"
    if const:
        y_expr += f" - {ow}'d{const}"
    body += [
        f"    // y = {scale}sum_{{i,j}} {'s_i ' if min(signs) < 0 else ''}2^(i+j) pc_ij"
        f"{' - ' + constant_text(spec) if const else ''}{signed_planes_note(spec)}",
        f"    wire [{ow - 1}:0] y_next = {y_expr};",
        *result_register(gated),
        "endmodule",
        FOOTER,
    ]
    stats = popcount_stats(tree)
    pipeline = {
        "style": "iterative",
        "live": "live <= 0 at an edge with rst_n=0, else live <= 1 (so in_ready is 0 during reset and one edge after)",
        "registers": {
            "s1_w, s1_a": ("operands of the input being processed (not reset): " + (
                "clocked by s1_gclk, loaded with (w, a) at every edge where in_ready is 1 (the accepted input, or "
                "an input nobody reads when in_valid is 0)" if gated else "loaded on accept")),
            "busy": "an input is being processed (reset 0)",
            "step": f"0..{nsteps - 1}, index into step_schedule (reset 0)",
            "acc": "Horner accumulator, acc_next = (step==0 ? 0 : dbl ? 2*acc : acc) + "
                   f"{'s_i*' if min(signs) < 0 else ''}2^shift*pc(i,j), loaded at every step but the last, whose sum "
                   f"goes to y only (not reset){signed_planes_note(spec)}",
            "out_valid, y": "result register (out_valid reset 0; y not reset"
                            f"{', clocked by y_gclk' if gated else ''})",
        },
        "combinational": {
            "last": f"step == {nsteps - 1}",
            "out_free": "!out_valid" if gated else "!out_valid | out_ready",
            "step_en": "busy & (!last | out_free)",
            "fin": "step_en & last",
            "in_ready": "live & (!busy | fin)",
            "accept": "in_valid & in_ready",
        },
        "on_edge": [
            ("in_ready: s1 <= (w, a); accept: busy <= 1; step <= 0" if gated
             else "accept: s1 <= (w, a); busy <= 1; step <= 0"),
            "else step_en: busy <= !last; step <= last ? 0 : step+1",
            "step_en & !last: acc <= acc_next",
            f"fin: y <= {scale.strip() + '*' if shift else ''}acc_next"
            f"{' - ' + constant_text(spec, manifest=True) if const else ''}"
            "; out_valid <= 1",
            "else out_ready: out_valid <= 0",
        ],
        "step_schedule": [{"i": i, "j": j, "dbl": dbl, "shift": shv} for i, j, dbl, shv in steps],
        **({"clock_gates": {"s1_gclk": {"enable": "in_ready", "registers": ["s1_w", "s1_a"]},
                            "acc_gclk": {"enable": "step_en & !last", "registers": ["acc"]},
                            "y_gclk": {"enable": "fin", "registers": ["y"]},
                            "kind": GATE_NOTE}} if gated else {}),
        "note": "a new input is accepted on the edge of the previous input's last step when the output "
        "register is free, so II = WBITS*ABITS with out_ready high" + (
            "; gated: the last step completes only at an edge where out_valid is already 0 (free before the edge, "
            "whatever out_ready does at it), so in_ready and every clock enable depend on registers only and, under "
            "back-pressure, a y taken at the edge of the next last step costs that input one cycle" if gated else ""),
        "latency_definition": LATENCY_DEFINITION,
    }
    return ArchDesign(
        top=top,
        modules=(ModuleText(top, "\n".join(body)), branch_module(spec, br_name, pc_name, n, pw),
                 popcount_module(spec, pc_name, tree), *adder_cell_modules(spec)),
        latency_cycles=nsteps,
        initiation_interval=nsteps,
        pipeline=pipeline,
        extra={
            "popcount": {**stats, "per_pe": {"branch_units": 1, "full_adders": tree.full_adders,
                                            "half_adders": tree.half_adders}},
            "constant_correction": const,
        },
    )


def cycle_model(spec: DesignSpec, manifest: Manifest | None = None) -> SerialModel:
    """The serial cycle model in the form the generator emits for this spec (clock-gated from two steps on)."""
    return serial_model(spec, manifest, gated=clock_gated(spec))


def activity(spec: DesignSpec, w: np.ndarray, a: np.ndarray) -> Activity:
    """The serial activity model in the generated form (clock-gated registers from two steps on)."""
    return serial_activity(spec, w, a, gated=clock_gated(spec))


def timing(spec: DesignSpec) -> tuple[int, int]:
    """One step per bit-plane pair: latency = II = WBITS*ABITS."""
    steps = len(serial_schedule(spec.wbits, spec.abits))
    return steps, steps


ARCH = Architecture(
    name="serial",
    description="encoded: one branch unit (XNOR or AND + popcount) reused over the WBITS*ABITS bit-plane pairs; "
                "latency = II = W*A",
    generate=generate_serial,
    timing=timing,
    cycle_model=cycle_model,
    activity=activity,
    style=Style(color="#2ca02c", marker="s", label="serial"),
)
