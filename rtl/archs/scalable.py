"""`scalable` PE: weight and activation widths are run-time inputs up to the generated WBITS/ABITS.

One branch unit (N-wide XNOR or AND + popcount) is reused over the run-time bit-plane pairs, like UNPU, BISMO or
Loom: with each input come ``wprec`` = m (1..WBITS) and ``aprec`` = k (1..ABITS); only the low m (k) bits of each
element's word count. The steps walk the diagonals s = i+j from m+k-2 down to 0 (i ascending within one), so the
accumulator only doubles; every step adds s_i 2^pc_shift pc, where s_i is the encoding's sign of weight plane i
*at width m* (twos: the top plane m-1 subtracts), and the last step subtracts the encoding's constant at (m, k) from
a table (pm1: the odd-code offset N(2^m-1)(2^k-1); twos: none). The operands are read in place from the held
input (the producer keeps an offered input unchanged until it is accepted), so there is no operand register; the
input is accepted on its last step: II = m*k, latency 0. An input with m or k outside the range is accepted in its
first cycle and returns y = 0 with ``prec_err`` = 1.
"""

from __future__ import annotations

from model.compressor import popcount_stats
from model.energy_activity import Activity
from model.runtime import (
    FLAG_PORT,
    WIDTH_PORTS,
    port_bits,
    runtime_activity,
    runtime_model,
    runtime_timing,
)
from model.spec import DesignSpec
from rtl.archs import Architecture, Style
from rtl.archs.serial import plane_mux
from rtl.design import LATENCY_DEFINITION, ArchDesign, port_list
from rtl.verilog import FOOTER, ModuleText, branch_module, encoded_parts, header, plane_expr, popcount_module


def ports(spec: DesignSpec) -> str:
    """The port contract plus the run-time width inputs and the flag output."""
    pw, pa = port_bits(spec.wbits), port_bits(spec.abits)
    return (port_list(spec).rstrip("\n") + ",\n"
            f"    input  wire [{pw - 1}:0] {WIDTH_PORTS[0]},\n"
            f"    input  wire [{pa - 1}:0] {WIDTH_PORTS[1]},\n"
            f"    output reg  {FLAG_PORT}\n")


def generate_scalable(spec: DesignSpec) -> ArchDesign:
    """Build the run-time-precision PE: operand and width registers, a diagonal walk bounded by the run-time
    widths, one branch unit, an accumulator, y and prec_err registers."""
    big_m, big_k, n, ow = spec.wbits, spec.abits, spec.n, spec.out_width
    enc = spec.enc
    top, tree, pc_name, br_name, _, _ = encoded_parts(spec)
    consts = {(m, k): enc.constant(m, k, n) for m in range(1, big_m + 1) for k in range(1, big_k + 1)}
    c = any(consts.values())
    pw_tree = tree.width
    shift = enc.pc_shift
    pw, pa = port_bits(big_m), port_bits(big_k)
    cw = max(pw, pa) + 1  # width of the walk registers s, i and of their arithmetic (s <= M+K-2)
    wp, ap = WIDTH_PORTS
    # (m, i) pairs whose weight plane subtracts at run-time width m (twos: i = m-1)
    neg = [(m, i) for m in range(1, big_m + 1) for i in range(m) if enc.plane_sign(i, m) < 0]
    bad_terms = [f"({p} == {b}'d0)" + (f" | ({p} > {b}'d{mx})" if mx < (1 << b) - 1 else "")
                 for p, b, mx in ((wp, pw, big_m), (ap, pa, big_k))]
    bad_expr = " | ".join(bad_terms)
    body: list[str] = [
        header(spec, top, f"run-time-precision encoded PE: 1 branch unit of {n} elements over wprec*aprec steps "
               f"(wprec 1..{big_m}, aprec 1..{big_k}), operands read in place; II = wprec*aprec, latency 0"),
        f"module {top} (",
        ports(spec) + ");",
        "    // The operands (w, a, wprec, aprec) are read from the ports while the producer holds them (valid/ready rule:",
        "    // an offered input stays unchanged until accepted); the input is accepted on its last step.",
        "    reg live;",
        "    reg busy;",
        f"    reg [{cw - 1}:0] s;",
        f"    reg [{cw - 1}:0] i;",
        "    reg dbl;",
        f"    wire in_bad = {bad_expr};",
        f"    wire [{cw - 1}:0] m_x = {{{{{cw - pw}{{1'b0}}}}, {wp}}};",
        f"    wire [{cw - 1}:0] k_x = {{{{{cw - pa}{{1'b0}}}}, {ap}}};",
        "    // this cycle's step: the first one of an input (not busy) or the walk's registers",
        f"    wire [{cw - 1}:0] s_c = busy ? s : m_x + k_x - {cw}'d2;",
        f"    wire [{cw - 1}:0] i_c = busy ? i : m_x - {cw}'d1;",
        f"    wire last = in_bad | (s_c == {cw}'d0);",
        "    wire out_free = ~out_valid | out_ready;",
        "    wire step_en = live & in_valid & (~last | out_free);",
        "    assign in_ready = live & last & out_free;",
        f"    wire end_diag = (i_c == m_x - {cw}'d1) | (i_c == s_c);",
        f"    wire [{cw - 1}:0] i_lo = (s_c > k_x) ? s_c - k_x : {cw}'d0;",
        "    always @(posedge clk) begin",
        "        if (!rst_n) begin",
        "            live <= 1'b0;",
        "            busy <= 1'b0;",
        "            out_valid <= 1'b0;",
        "        end else begin",
        "            live <= 1'b1;",
        "            if (step_en) busy <= ~last;",
        "            if (step_en & last) out_valid <= 1'b1;",
        "            else if (out_ready) out_valid <= 1'b0;",
        "        end",
        "    end",
        "    // the diagonal walk: s = i+j from wprec+aprec-2 down to 0, i from max(0, s-(aprec-1)) to min(wprec-1, s)",
        "    always @(posedge clk) begin",
        "        if (step_en) begin",
        "            if (end_diag) begin",
        f"                s <= s_c - {cw}'d1;",
        "                i <= i_lo;",
        "                dbl <= 1'b1;",
        "            end else begin",
        "                s <= s_c;",
        f"                i <= i_c + {cw}'d1;",
        "                dbl <= 1'b0;",
        "            end",
        "        end",
        "    end",
    ]
    if big_k > 1:
        body.append(f"    wire [{cw - 1}:0] j = s_c - i_c;")
    body += plane_mux("wsel", "i_c", cw, [plane_expr("w", big_m, p, n) for p in range(big_m)], n)
    body += plane_mux("asel", "j", cw, [plane_expr("a", big_k, p, n) for p in range(big_k)], n)
    body += [
        f"    wire [{pw_tree - 1}:0] pc;",
        f"    {br_name} u_branch (.wp(wsel), .ap(asel), .pc(pc));",
    ]
    pad = ow - pw_tree - shift
    pc_ext = ("" if pad == 0 else f"{{{pad}{{1'b0}}}}, ") + "pc" + (f", {shift}'b0" if shift else "")
    body.append(f"    wire [{ow - 1}:0] term = {{{pc_ext}}};")
    if neg:
        conds = " | ".join(f"(({wp} == {pw}'d{m}) & (i_c == {cw}'d{i}))" for m, i in neg)
        body.append(f"    wire sub = {conds};")
        add = "sub ? acc_base - term : acc_base + term"
    else:
        add = "acc_base + term"
    if c:  # the encoding's constant at the run-time widths (pm1: N (2^wprec-1)(2^aprec-1)), once at the last step
        sel = f"{{{wp}, {ap}}}"
        body += [f"    reg [{ow - 1}:0] corr;", "    always @* begin", f"        case ({sel})"]
        body += [f"            {pw + pa}'d{(m << pa) | k}: corr = {ow}'d{v};" for (m, k), v in consts.items()]
        body += [f"            default: corr = {ow}'d0;", "        endcase", "    end"]
    y_val = "acc_next - corr" if c else "acc_next"
    body += [
        f"    reg [{ow - 1}:0] acc;",
        f"    wire [{ow - 1}:0] acc_base = ~busy ? {ow}'d0 : (dbl ? {{acc[{ow - 2}:0], 1'b0}} : acc);",
        f"    // acc_next = (first step ? 0 : dbl ? 2 acc : acc) + s_i 2^{shift} pc(i, j)"
        + ("; y = acc_next - the encoding's constant at (wprec, aprec)" if c else ""),
        f"    wire [{ow - 1}:0] acc_next = {add};",
        "    always @(posedge clk) begin",
        "        if (step_en & ~last) acc <= acc_next;",
        "    end",
        "    always @(posedge clk) begin",
        "        if (step_en & last) begin",
        f"            y <= in_bad ? {ow}'d0 : {y_val};",
        f"            {FLAG_PORT} <= in_bad;",
        "        end",
        "    end",
        "endmodule",
        FOOTER,
    ]
    stats = popcount_stats(tree)
    pipeline = {
        "style": "runtime-iterative",
        "live": "live <= 0 at an edge with rst_n=0, else live <= 1 (so in_ready is 0 during reset and one edge after)",
        "operands": f"w, a, {wp}, {ap} are read from the ports on every step: the producer holds an offered input "
                    "unchanged until it is accepted (the valid/ready rule every bench of this project follows); the "
                    "PE steps only while in_valid is high",
        "registers": {
            "busy": "an input is part-way (its first step is done; reset 0)",
            "s, i, dbl": "the diagonal walk after the first step: s = i+j, plane index i, first step of a diagonal "
                         "(not reset)",
            "acc": f"accumulator, acc_next = (first ? 0 : dbl ? 2*acc : acc) + s_i*2^{shift}*pc(i, s-i) (not reset)",
            f"out_valid, y, {FLAG_PORT}": f"result registers (out_valid reset 0; y = bad ? 0 : acc_next - "
                                          f"constant(wprec, aprec), {FLAG_PORT} = bad)",
        },
        "combinational": {
            "s_c, i_c": f"busy ? (s, i) : ({wp}+{ap}-2, {wp}-1)",
            "bad": f"{wp} or {ap} outside its valid range",
            "last": "bad | s_c == 0",
            "out_free": "!out_valid | out_ready",
            "step_en": "live & in_valid & (!last | out_free)",
            "in_ready": "live & last & out_free",
            "accept": "in_valid & in_ready (= step_en & last)",
        },
        "on_edge": [
            "step_en & !last: busy <= 1; acc <= acc_next; end of diagonal ? (s <= s_c-1; i <= max(0, s_c-aprec); "
            "dbl <= 1) : (s <= s_c; i <= i_c+1; dbl <= 0)",
            "step_en & last (= accept): busy <= 0; y <= bad ? 0 : acc_next - constant(wprec, aprec); "
            f"{FLAG_PORT} <= bad; out_valid <= 1",
            "else out_ready: out_valid <= 0",
        ],
        "note": "the input is accepted on its last step, so y shows right after the accepting edge (latency 0) "
                "and inputs are accepted every wprec*aprec cycles with out_ready high (II); the first offer to y "
                "takes wprec*aprec cycles",
        "latency_definition": LATENCY_DEFINITION,
    }
    runtime = {
        "ports": {wp: {"width": pw, "valid": [1, big_m], "meaning": "weight width of this input (held with w)"},
                  ap: {"width": pa, "valid": [1, big_k], "meaning": "activation width of this input (held with a)"}},
        "flag_port": FLAG_PORT,
        "words": "element e's word is still w[e*WBITS +: WBITS]; at run-time width m only its low m bits count "
                 "(read as an m-bit word of the encoding); the bits above are ignored",
        "operands": "read in place: an offered input (w, a, wprec, aprec) must stay unchanged until accepted",
        "latency_cycles": "0 (y right after the accepting edge; the input is accepted on its last step)",
        "initiation_interval": "wprec*aprec",
        "out_of_range": f"{wp} or {ap} outside its valid range: the input is accepted in its first cycle (II 1) "
                        f"and yields y = 0 with {FLAG_PORT} = 1; in range, {FLAG_PORT} = 0",
        "timing": [{"wprec": m, "aprec": k, "latency_cycles": 0, "initiation_interval": m * k}
                   for m in range(1, big_m + 1) for k in range(1, big_k + 1)],
        "constant": [{"wprec": m, "aprec": k, "value": v} for (m, k), v in consts.items()],
    }
    return ArchDesign(
        top=top,
        modules=(ModuleText(top, "\n".join(body)), branch_module(spec, br_name, pc_name, n, pw_tree),
                 popcount_module(spec, pc_name, tree)),
        latency_cycles=0,
        initiation_interval=big_m * big_k,
        pipeline=pipeline,
        extra={
            "popcount": {**stats, "per_pe": {"branch_units": 1, "full_adders": tree.full_adders,
                                            "half_adders": tree.half_adders}},
            "runtime_precision": runtime,
        },
    )


def activity(spec: DesignSpec, w, a) -> Activity:
    """Parts and toggles at the maximum widths (model.runtime.runtime_activity)."""
    return runtime_activity(spec, w, a)


ARCH = Architecture(
    name="scalable",
    description="encoded, run-time precision: widths wprec/aprec are inputs (1..WBITS, 1..ABITS), one branch unit "
                "reused over their bit-plane pairs; latency = II = wprec*aprec, out-of-range widths flagged",
    generate=generate_scalable,
    timing=runtime_timing,
    cycle_model=runtime_model,
    activity=activity,
    style=Style(color="#9467bd", marker="D", label="scalable"),
)
