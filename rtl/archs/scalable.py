"""`scalable` PE: weight and activation widths are run-time inputs up to the generated WBITS/ABITS.

One branch unit (N-wide XNOR or AND + popcount) is reused over the run-time bit-plane pairs, like UNPU, BISMO or
Loom: with each input come ``wprec`` = m (1..WBITS) and ``aprec`` = k (1..ABITS); only the low m (k) bits of each
element's word count. The steps walk the diagonals s = i+j from m+k-2 down to 0 (i ascending within one), so the
accumulator only doubles; every step adds s_i 2^pc_shift pc - c, where s_i is the encoding's sign of weight plane i
*at width m* (twos: the top plane m-1 subtracts) and c the encoding's per-branch share of its constant (pm1: N, so
the odd-code offset N(2^m-1)(2^k-1) follows the run-time widths; twos: 0). Latency = II = m*k.
An input with m or k outside the range is accepted, takes one step and returns y = 0 with ``prec_err`` = 1.
"""

from __future__ import annotations

from model.compressor import popcount_stats
from model.energy_activity import Activity
from model.runtime import (
    FLAG_PORT,
    WIDTH_PORTS,
    branch_constant,
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
    c = branch_constant(enc, n, big_m, big_k)
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
               f"(wprec 1..{big_m}, aprec 1..{big_k}); latency = II = wprec*aprec"),
        f"module {top} (",
        ports(spec) + ");",
        "    reg live;",
        "    reg busy;",
        f"    reg [{spec.w_width - 1}:0] s1_w;",
        f"    reg [{spec.a_width - 1}:0] s1_a;",
        f"    reg [{pw - 1}:0] mr;",
        f"    reg [{pa - 1}:0] kr;",
        "    reg bad;",
        f"    reg [{cw - 1}:0] s;",
        f"    reg [{cw - 1}:0] i;",
        "    reg first;",
        "    reg dbl;",
        f"    wire in_bad = {bad_expr};",
        f"    wire last = bad | (s == {cw}'d0);",
        "    wire out_free = ~out_valid | out_ready;",
        "    wire step_en = busy & (~last | out_free);",
        "    assign in_ready = live & (~busy | (last & out_free));",
        "    wire accept = in_valid & in_ready;",
        f"    wire [{cw - 1}:0] m_x = {{{{{cw - pw}{{1'b0}}}}, mr}};",
        f"    wire [{cw - 1}:0] k_x = {{{{{cw - pa}{{1'b0}}}}, kr}};",
        f"    wire end_diag = (i == m_x - {cw}'d1) | (i == s);",
        f"    wire [{cw - 1}:0] i_lo = (s > k_x) ? s - k_x : {cw}'d0;",
        f"    wire [{cw - 1}:0] s_load = {{{{{cw - pw}{{1'b0}}}}, {wp}}} + {{{{{cw - pa}{{1'b0}}}}, {ap}}} - {cw}'d2;",
        f"    wire [{cw - 1}:0] i_load = {{{{{cw - pw}{{1'b0}}}}, {wp}}} - {cw}'d1;",
        "    always @(posedge clk) begin",
        "        if (!rst_n) begin",
        "            live <= 1'b0;",
        "            busy <= 1'b0;",
        "            out_valid <= 1'b0;",
        "        end else begin",
        "            live <= 1'b1;",
        "            if (accept) busy <= 1'b1;",
        "            else if (step_en) busy <= ~last;",
        "            if (step_en & last) out_valid <= 1'b1;",
        "            else if (out_ready) out_valid <= 1'b0;",
        "        end",
        "    end",
        "    // operands, widths and the walk: loaded on accept, stepped on step_en (not reset)",
        "    always @(posedge clk) begin",
        "        if (accept) begin",
        "            s1_w <= w;",
        "            s1_a <= a;",
        f"            mr <= {wp};",
        f"            kr <= {ap};",
        "            bad <= in_bad;",
        "            s <= s_load;",
        "            i <= i_load;",
        "            first <= 1'b1;",
        "            dbl <= 1'b0;",
        "        end else if (step_en) begin",
        "            first <= 1'b0;",
        "            if (end_diag) begin",
        f"                s <= s - {cw}'d1;",
        "                i <= i_lo;",
        "                dbl <= 1'b1;",
        "            end else begin",
        f"                i <= i + {cw}'d1;",
        "                dbl <= 1'b0;",
        "            end",
        "        end",
        "    end",
    ]
    if big_k > 1:
        body.append(f"    wire [{cw - 1}:0] j = s - i;")
    body += plane_mux("wsel", "i", cw, [plane_expr("s1_w", big_m, p, n) for p in range(big_m)], n)
    body += plane_mux("asel", "j", cw, [plane_expr("s1_a", big_k, p, n) for p in range(big_k)], n)
    body += [
        f"    wire [{pw_tree - 1}:0] pc;",
        f"    {br_name} u_branch (.wp(wsel), .ap(asel), .pc(pc));",
    ]
    pad = ow - pw_tree - shift
    pc_ext = ("" if pad == 0 else f"{{{pad}{{1'b0}}}}, ") + "pc" + (f", {shift}'b0" if shift else "")
    body.append(f"    wire [{ow - 1}:0] term = {{{pc_ext}}};")
    if neg:
        conds = " | ".join(f"((mr == {pw}'d{m}) & (i == {cw}'d{i}))" for m, i in neg)
        body.append(f"    wire sub = {conds};")
        add = "sub ? acc_base - term : acc_base + term"
    else:
        add = "acc_base + term"
    if c:
        add = f"({add}) - {ow}'d{c}"
    body += [
        f"    reg [{ow - 1}:0] acc;",
        f"    wire [{ow - 1}:0] acc_base = first ? {ow}'d0 : (dbl ? {{acc[{ow - 2}:0], 1'b0}} : acc);",
        f"    // acc_next = (first ? 0 : dbl ? 2 acc : acc) + s_i 2^{shift} pc(i, j){f' - {c}' if c else ''}: the constant "
        "follows the run-time widths",
        f"    wire [{ow - 1}:0] acc_next = {add};",
        "    always @(posedge clk) begin",
        "        if (step_en) acc <= acc_next;",
        "    end",
        "    always @(posedge clk) begin",
        "        if (step_en & last) begin",
        f"            y <= bad ? {ow}'d0 : acc_next;",
        f"            {FLAG_PORT} <= bad;",
        "        end",
        "    end",
        "endmodule",
        FOOTER,
    ]
    stats = popcount_stats(tree)
    pipeline = {
        "style": "runtime-iterative",
        "live": "live <= 0 at an edge with rst_n=0, else live <= 1 (so in_ready is 0 during reset and one edge after)",
        "registers": {
            "s1_w, s1_a, mr, kr, bad": f"operands, run-time widths ({wp}, {ap}) and their range check, loaded on "
                                       "accept (not reset)",
            "busy": "an input is being processed (reset 0)",
            "s, i, first, dbl": "the diagonal walk: s = i+j from mr+kr-2 down to 0, i ascending from max(0, s-(kr-1)) "
                                "to min(mr-1, s); first step of the input; first step of a diagonal (not reset)",
            "acc": f"accumulator, acc_next = (first ? 0 : dbl ? 2*acc : acc) + s_i*2^{shift}*pc(i, s-i) - {c} (not reset)",
            f"out_valid, y, {FLAG_PORT}": f"result registers (out_valid reset 0; y = bad ? 0 : acc_next, {FLAG_PORT} = bad)",
        },
        "combinational": {
            "last": "bad | s == 0",
            "out_free": "!out_valid | out_ready",
            "step_en": "busy & (!last | out_free)",
            "in_ready": "live & (!busy | (last & out_free))",
            "accept": "in_valid & in_ready",
        },
        "on_edge": [
            f"accept: s1 <= (w, a); (mr, kr) <= ({wp}, {ap}); bad <= out of range; s <= {wp}+{ap}-2; i <= {wp}-1; "
            "first <= 1; busy <= 1",
            "else step_en: busy <= !last; first <= 0; end of diagonal ? (s <= s-1; i <= max(0, s-kr); dbl <= 1) "
            ": (i <= i+1; dbl <= 0)",
            "step_en: acc <= acc_next",
            f"step_en & last: y <= bad ? 0 : acc_next; {FLAG_PORT} <= bad; out_valid <= 1",
            "else out_ready: out_valid <= 0",
        ],
        "note": "a new input is accepted on the edge of the previous input's last step when the output register is "
                "free, so II = wprec*aprec of the previous input with out_ready high",
        "latency_definition": LATENCY_DEFINITION,
    }
    runtime = {
        "ports": {wp: {"width": pw, "valid": [1, big_m], "meaning": "weight width of this input (sampled on accept)"},
                  ap: {"width": pa, "valid": [1, big_k], "meaning": "activation width of this input (sampled on accept)"}},
        "flag_port": FLAG_PORT,
        "words": "element e's word is still w[e*WBITS +: WBITS]; at run-time width m only its low m bits count "
                 "(read as an m-bit word of the encoding); the bits above are ignored",
        "latency_cycles": "wprec*aprec",
        "initiation_interval": "wprec*aprec",
        "out_of_range": f"{wp} or {ap} outside its valid range: the input is accepted, takes 1 cycle (latency 1, II 1) "
                        f"and yields y = 0 with {FLAG_PORT} = 1; in range, {FLAG_PORT} = 0",
        "timing": [{"wprec": m, "aprec": k, "latency_cycles": m * k, "initiation_interval": m * k}
                   for m in range(1, big_m + 1) for k in range(1, big_k + 1)],
        "branch_constant": c,
    }
    return ArchDesign(
        top=top,
        modules=(ModuleText(top, "\n".join(body)), branch_module(spec, br_name, pc_name, n, pw_tree),
                 popcount_module(spec, pc_name, tree)),
        latency_cycles=big_m * big_k,
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
