"""`parallel` PE: WBITS*ABITS branch units (the encoding's gate, XNOR or AND, + compressor-tree popcount) and a
shift-add with the encoding's plane signs and constant folded in, II 1."""

from __future__ import annotations

from model.compressor import popcount_stats
from model.cycle import parallel_transforms
from model.energy_activity import parallel_activity
from model.spec import DesignSpec
from rtl.archs import Architecture, Style
from rtl.design import ArchDesign
from rtl.lockstep import lockstep_cycle_model, lockstep_head, lockstep_pipeline, lockstep_timing
from rtl.verilog import (
    FOOTER,
    ModuleText,
    TreeNode,
    adder_cell_modules,
    adder_tree,
    branch_module,
    encoded_parts,
    extend,
    plane_expr,
    popcount_module,
    shift_add_text,
    signed_planes_note,
)


def generate_parallel(spec: DesignSpec) -> ArchDesign:
    """Build the parallel PE: s1 operands, s2 branch popcounts, out = signed shift-add minus folded constant."""
    m, k, n, ow = spec.wbits, spec.abits, spec.n, spec.out_width
    enc = spec.enc
    top, tree, pc_name, br_name, const, signs = encoded_parts(spec)
    pw = tree.width

    body = lockstep_head(spec, top, f"parallel encoded PE: {m * k} branch units of {n} elements, latency 2, II 1",
                         ["s1_valid", "s2_valid"])
    for i in range(m):
        body.append(f"    wire [{n - 1}:0] wplane_{i} = {plane_expr('s1_w', m, i, n)};")
    for j in range(k):
        body.append(f"    wire [{n - 1}:0] aplane_{j} = {plane_expr('s1_a', k, j, n)};")
    leaves: list[TreeNode] = []  # branches added
    negative: list[TreeNode] = []  # branches subtracted (planes with sign -1)
    for i in range(m):
        for j in range(k):
            s = f"{i}_{j}"
            body += [
                f"    wire [{pw - 1}:0] pc_{s};",
                f"    {br_name} u_branch_{s} (.wp(wplane_{i}), .ap(aplane_{j}), .pc(pc_{s}));",
                f"    reg [{pw - 1}:0] s2_pc_{s};",
            ]
            shift = i + j + enc.pc_shift  # weight 2^(i+j), times 2^pc_shift (pm1: the factor 2 of 2*pc - N)
            leaf_w = pw + shift
            if shift:
                body.append(f"    wire [{leaf_w - 1}:0] term_{s} = {{s2_pc_{s}, {shift}'d0}};")
            else:
                body.append(f"    wire [{leaf_w - 1}:0] term_{s} = s2_pc_{s};")
            (leaves if signs[i] > 0 else negative).append(TreeNode(f"term_{s}", leaf_w, n << shift))
    body += [
        "    always @(posedge clk) begin",
        "        if (advance & s1_valid) begin",
        *[f"            s2_pc_{i}_{j} <= pc_{i}_{j};" for i in range(m) for j in range(k)],
        "        end",
        "    end",
        f"    // y = {enc.formula} = {shift_add_text(spec)}{signed_planes_note(spec)}",
    ]
    # the planes' signs and the constant fold into one subtraction: y = (added) - (subtracted) - constant
    terms = [extend(adder_tree(leaves, "sum", signed=False, lines=body), ow, False)] if leaves else [f"{ow}'d0"]
    if negative:
        terms.append(extend(adder_tree(negative, "neg", signed=False, lines=body), ow, False))
    if const:
        terms.append(f"{ow}'d{const}")
    body += [
        f"    wire [{ow - 1}:0] y_next = {' - '.join(terms)};",
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
         "holds": f"pc[i][j] = popcount({enc.gate.name.upper()}(bit plane i of w, bit plane j of a)) for every branch"},
        {"name": "out", "valid": "out_valid",
         "holds": f"y = {shift_add_text(spec, 'pc[i][j]', manifest=True)}{signed_planes_note(spec)} (mod 2^out_width)"},
    ]
    return ArchDesign(
        top=top,
        modules=(top_mod, branch_module(spec, br_name, pc_name, n, pw), popcount_module(spec, pc_name, tree),
                 *adder_cell_modules(spec)),
        latency_cycles=2,
        initiation_interval=1,
        pipeline=lockstep_pipeline(stages),
        extra={
            "popcount": {**stats, "per_pe": {"branch_units": m * k, "full_adders": m * k * tree.full_adders,
                                            "half_adders": m * k * tree.half_adders}},
            "constant_correction": const,
        },
    )


ARCH = Architecture(
    name="parallel",
    description="encoded: WBITS*ABITS branch units (XNOR or AND + popcount) side by side and a shift-add; "
                "latency 2, II 1",
    generate=generate_parallel,
    timing=lockstep_timing,
    cycle_model=lockstep_cycle_model(parallel_transforms),
    activity=parallel_activity,
    style=Style(color="#1f77b4", marker="o", label="parallel"),
)
