"""`serial` PE: one branch unit reused over the WBITS*ABITS bit-plane pairs, Horner accumulation, II = W*A.

Steps walk the diagonals s = i+j from W+A-2 down to 0, so the accumulator only ever shifts by one:
acc <- (new diagonal ? 2 acc : acc) + s_i pc(i, j); after the last step y = 2^pc_shift acc - constant, with the
plane signs s_i, pc_shift and the constant of the spec's encoding (pm1: all +1, 1, N (2^W-1)(2^A-1); twos: the top
weight plane -1, 0, 0).
"""

from __future__ import annotations

from model.compressor import popcount_stats
from model.cycle import serial_model, serial_schedule
from model.energy_activity import serial_activity
from model.spec import DesignSpec
from rtl.archs import Architecture, Style
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


def plane_mux(name: str, sel: str, sel_bits: int, planes: list[str], n: int) -> list[str]:
    """A combinational plane multiplexer (case on ``sel``)."""
    if len(planes) == 1:
        return [f"    wire [{n - 1}:0] {name} = {planes[0]};"]
    lines = [f"    reg [{n - 1}:0] {name};", "    always @* begin", f"        case ({sel})"]
    lines += [f"            {sel_bits}'d{p}: {name} = {src};" for p, src in enumerate(planes)]
    lines += [f"            default: {name} = {planes[0]};", "        endcase", "    end"]
    return lines


def generate_serial(spec: DesignSpec) -> ArchDesign:
    """Build the serial PE: operand register, one branch unit, step counter, accumulator, output register."""
    m, k, n, ow = spec.wbits, spec.abits, spec.n, spec.out_width
    enc = spec.enc
    top, tree, pc_name, br_name, const, signs = encoded_parts(spec)
    pw = tree.width
    shift = enc.pc_shift
    steps = serial_schedule(m, k)
    nsteps = len(steps)
    cw, iw, jw = clog2(nsteps), clog2(m), clog2(k)
    # pm1: acc <= N (2^W-1)(2^A-1) = y_max at every step (Horner partial sums never exceed the total), and
    # y = 2 acc - const; with signed planes the accumulator is y itself, modulo 2^out_width
    aw = ow - shift
    step_signs = [signs[i] for i, _, _ in steps]
    mixed = len(set(step_signs)) > 1  # some steps add, some subtract: a per-step 'sub' bit
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
        "    wire out_free = ~out_valid | out_ready;",
        "    wire step_en = busy & (~last | out_free);",
        "    assign in_ready = live & (~busy | (last & out_free));",
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
        "            if (step_en & last) out_valid <= 1'b1;",
        "            else if (out_ready) out_valid <= 1'b0;",
        "        end",
        "    end",
        "    always @(posedge clk) begin",
        "        if (accept) begin",
        "            s1_w <= w;",
        "            s1_a <= a;",
        "        end",
        "    end",
    ]
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
    body += decl
    if decl:
        body += ["    always @* begin", "        case (step)"]
        for t, (i, j, dbl) in enumerate(steps):
            acts = ([f"isel = {iw}'d{i};"] if m > 1 else []) + ([f"jsel = {jw}'d{j};"] if k > 1 else [])
            acts.append(f"dbl = 1'b{int(dbl)};")
            if mixed:
                acts.append(f"sub = 1'b{int(signs[i] < 0)};")
            body.append(f"            {cw}'d{t}: begin {' '.join(acts)} end")
        dflt = ([f"isel = {iw}'d0;"] if m > 1 else []) + ([f"jsel = {jw}'d0;"] if k > 1 else []) + ["dbl = 1'b0;"]
        dflt += ["sub = 1'b0;"] if mixed else []
        body += [f"            default: begin {' '.join(dflt)} end", "        endcase", "    end"]
    body += plane_mux("wsel", "isel", iw, [plane_expr("s1_w", m, i, n) for i in range(m)], n)
    body += plane_mux("asel", "jsel", jw, [plane_expr("s1_a", k, j, n) for j in range(k)], n)
    body += [
        f"    wire [{pw - 1}:0] pc;",
        f"    {br_name} u_branch (.wp(wsel), .ap(asel), .pc(pc));",
    ]
    pad = aw - pw
    pc_ext = "pc" if pad == 0 else f"{{{{{pad}{{1'b0}}}}, pc}}"
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
            "    always @(posedge clk) begin",
            "        if (step_en) acc <= acc_next;",
            "    end",
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
        "    always @(posedge clk) begin",
        "        if (step_en & last) y <= y_next;",
        "    end",
        "endmodule",
        FOOTER,
    ]
    stats = popcount_stats(tree)
    pipeline = {
        "style": "iterative",
        "live": "live <= 0 at an edge with rst_n=0, else live <= 1 (so in_ready is 0 during reset and one edge after)",
        "registers": {
            "s1_w, s1_a": "operands of the input being processed (loaded on accept, not reset)",
            "busy": "an input is being processed (reset 0)",
            "step": f"0..{nsteps - 1}, index into step_schedule (reset 0)",
            "acc": "Horner accumulator, acc_next = (step==0 ? 0 : dbl ? 2*acc : acc) + "
                   f"{'s_i*' if min(signs) < 0 else ''}pc(i,j) (not reset){signed_planes_note(spec)}",
            "out_valid, y": "result register (out_valid reset 0; y not reset)",
        },
        "combinational": {
            "last": f"step == {nsteps - 1}",
            "out_free": "!out_valid | out_ready",
            "step_en": "busy & (!last | out_free)",
            "in_ready": "live & (!busy | (last & out_free))",
            "accept": "in_valid & in_ready",
        },
        "on_edge": [
            "accept: s1 <= (w, a); busy <= 1; step <= 0",
            "else step_en: busy <= !last; step <= last ? 0 : step+1",
            "step_en: acc <= acc_next",
            f"step_en & last: y <= {scale.strip() + '*' if shift else ''}acc_next"
            f"{' - ' + constant_text(spec, manifest=True) if const else ''}"
            "; out_valid <= 1",
            "else out_ready: out_valid <= 0",
        ],
        "step_schedule": [{"i": i, "j": j, "dbl": dbl} for i, j, dbl in steps],
        "note": "a new input is accepted on the edge of the previous input's last step when the output "
        "register is free, so II = WBITS*ABITS with out_ready high",
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
    cycle_model=serial_model,
    activity=serial_activity,
    style=Style(color="#2ca02c", marker="s", label="serial"),
)
