"""`parallel` PE: WBITS*ABITS branch units (XNOR + compressor-tree popcount) and a shift-add, II 1."""

from __future__ import annotations

from model.compressor import build_popcount, popcount_stats
from model.spec import DesignSpec
from rtl.design import LATENCY_DEFINITION, ArchDesign, port_list
from rtl.verilog import (
    FOOTER,
    ModuleText,
    TreeNode,
    adder_tree,
    branch_module,
    extend,
    header,
    plane_expr,
    popcount_module,
    top_name,
)


def lockstep_pipeline(stages: list[dict[str, str]]) -> dict:
    """Pipeline description shared by `parallel` and `baseline`: every stage moves together."""
    return {
        "style": "lockstep",
        "registers_per_stage": "a valid bit (reset to 0) and data registers (not reset, loaded only when valid)",
        "live": "live <= 0 at an edge with rst_n=0, else live <= 1 (so in_ready is 0 during reset and one edge after)",
        "advance": "advance = !out_valid | out_ready (combinational)",
        "in_ready": "live & advance (combinational; depends on out_ready)",
        "on_edge_if_advance": "s1 <= (in_valid & in_ready, inputs); each later stage <= previous stage; "
        "out_valid,y <= last internal stage (y only loaded when that stage is valid)",
        "on_edge_if_not_advance": "every register holds (y and out_valid hold until out_ready)",
        "stages": stages,
        "latency_definition": LATENCY_DEFINITION,
    }


def lockstep_control(valids: list[str]) -> list[str]:
    """Verilog for live, advance, in_ready and the valid chain s1 -> ... -> out_valid."""
    chain = ["in_valid & live", *valids]
    body = [
        "    reg live;",
        *[f"    reg {v};" for v in valids],
        "    wire advance = ~out_valid | out_ready;",
        "    assign in_ready = live & advance;",
        "    always @(posedge clk) begin",
        "        if (!rst_n) begin",
        "            live <= 1'b0;",
        *[f"            {v} <= 1'b0;" for v in valids],
        "            out_valid <= 1'b0;",
        "        end else begin",
        "            live <= 1'b1;",
        "            if (advance) begin",
        *[f"                {v} <= {src};" for v, src in zip(valids, chain)],
        f"                out_valid <= {valids[-1]};",
        "            end",
        "        end",
        "    end",
    ]
    return body


def generate_parallel(spec: DesignSpec) -> ArchDesign:
    """Build the parallel PE: s1 operands, s2 branch popcounts, out = shift-add minus folded constant."""
    m, k, n, ow = spec.wbits, spec.abits, spec.n, spec.out_width
    top = top_name(spec)
    tree = build_popcount(n, spec.popcount)
    pw = tree.width
    pc_name, br_name = f"{top}_popcount", f"{top}_branch"
    const = n * ((1 << m) - 1) * ((1 << k) - 1)

    body: list[str] = [
        header(spec, top, f"parallel encoded PE: {m * k} branch units of {n} elements, latency 2, II 1"),
        f"module {top} (",
        port_list(spec) + ");",
        *lockstep_control(["s1_valid", "s2_valid"]),
        f"    reg [{spec.w_width - 1}:0] s1_w;",
        f"    reg [{spec.a_width - 1}:0] s1_a;",
        "    always @(posedge clk) begin",
        "        if (advance & in_valid & live) begin",
        "            s1_w <= w;",
        "            s1_a <= a;",
        "        end",
        "    end",
    ]
    for i in range(m):
        body.append(f"    wire [{n - 1}:0] wplane_{i} = {plane_expr('s1_w', m, i, n)};")
    for j in range(k):
        body.append(f"    wire [{n - 1}:0] aplane_{j} = {plane_expr('s1_a', k, j, n)};")
    leaves: list[TreeNode] = []
    for i in range(m):
        for j in range(k):
            s = f"{i}_{j}"
            body += [
                f"    wire [{pw - 1}:0] pc_{s};",
                f"    {br_name} u_branch_{s} (.wp(wplane_{i}), .ap(aplane_{j}), .pc(pc_{s}));",
                f"    reg [{pw - 1}:0] s2_pc_{s};",
            ]
            shift = i + j + 1  # weight 2^(i+j) and the factor 2 of 2*pc - N
            leaf_w = pw + shift
            body.append(f"    wire [{leaf_w - 1}:0] term_{s} = {{s2_pc_{s}, {shift}'d0}};")
            leaves.append(TreeNode(f"term_{s}", leaf_w, n << shift))
    body += [
        "    always @(posedge clk) begin",
        "        if (advance & s1_valid) begin",
        *[f"            s2_pc_{i}_{j} <= pc_{i}_{j};" for i in range(m) for j in range(k)],
        "        end",
        "    end",
        "    // y = sum_{i,j} 2^(i+j) (2 pc_ij - N) = sum_{i,j} pc_ij << (i+j+1) - N (2^W-1)(2^A-1)",
    ]
    root = adder_tree(leaves, "sum", signed=False, lines=body)
    body += [
        f"    wire [{ow - 1}:0] y_next = {extend(root, ow, False)} - {ow}'d{const};",
        "    always @(posedge clk) begin",
        "        if (advance & s2_valid) y <= y_next;",
        "    end",
        "endmodule",
        FOOTER,
    ]
    top_mod = ModuleText(top, "\n".join(body))
    stats = popcount_stats(tree)
    stages = [
        {"name": "s1", "valid": "s1_valid", "holds": "w and a of the accepted input"},
        {"name": "s2", "valid": "s2_valid",
         "holds": "pc[i][j] = popcount(XNOR(bit plane i of w, bit plane j of a)) for every branch"},
        {"name": "out", "valid": "out_valid",
         "holds": "y = sum_{i,j} 2^(i+j+1) pc[i][j] - N(2^WBITS-1)(2^ABITS-1) (mod 2^out_width)"},
    ]
    return ArchDesign(
        top=top,
        modules=(top_mod, branch_module(spec, br_name, pc_name, n, pw), popcount_module(spec, pc_name, tree)),
        latency_cycles=2,
        initiation_interval=1,
        pipeline=lockstep_pipeline(stages),
        extra={
            "popcount": {**stats, "per_pe": {"branch_units": m * k, "full_adders": m * k * tree.full_adders,
                                            "half_adders": m * k * tree.half_adders}},
            "constant_correction": const,
        },
    )
