"""`baseline` PE: the conventional way: decode each word to its signed value as the spec's encoding reads it (odd
code for pm1; two's complement weight x unsigned activation for twos), N multipliers, adder trees.

Same register philosophy as `parallel` (s1 operands, s2 = WBITS*ABITS partial sums, out = y), II 1,
so the encoded PEs are compared with a good pipelined multiplier-and-adder-tree design.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from model.cycle import LockstepModel, baseline_groups, baseline_transforms, lockstep_model
from model.encodings import word_width
from model.energy_activity import baseline_activity
from model.spec import DesignSpec
from rtl.archs import Architecture, Style
from rtl.design import ArchDesign, port_list
from rtl.lockstep import lockstep_control, lockstep_pipeline
from rtl.verilog import (
    FOOTER,
    ModuleText,
    TreeNode,
    adder_tree,
    extend,
    header,
    top_name,
)


def decode_expr(bus: str, bits: int, e: int, kind: str = "odd") -> tuple[str, int]:
    """Element e's word as a signed Verilog value and its width, read as ``kind`` (model.encodings.WORD_KINDS):
    odd: the (bits+1)-bit code q = 2u - (2^bits - 1) = {~u[msb], u[msb-1:0], 1'b1}; signed: the word itself
    (two's complement, bits wide); unsigned: {1'b0, u} (bits+1 wide)."""
    lo, msb = e * bits, e * bits + bits - 1
    word = f"{bus}[{msb}]" if bits == 1 else f"{bus}[{msb}:{lo}]"
    width = word_width(kind, bits)
    if kind == "signed":
        return word, width
    if kind == "unsigned":
        return f"{{1'b0, {word}}}", width
    if bits == 1:
        return f"{{~{bus}[{msb}], 1'b1}}", width
    rest = f"{bus}[{msb - 1}]" if bits == 2 else f"{bus}[{msb - 1}:{lo}]"
    return f"{{~{bus}[{msb}], {rest}, 1'b1}}", width


DECODE_COMMENTS = {
    "odd": "    // q = 2u - (2^B - 1) as a (B+1)-bit signed number is {~u[B-1], u[B-2:0], 1}",
    "signed": "    // weights: the two's-complement word itself",
    "unsigned": "    // activations: the unsigned word, zero-extended by one sign bit",
}


def fit(node: TreeNode, width: int, lines: list[str]) -> str:
    """A signed node as ``width`` bits: sign-extended, or its low bits when wider. The adder trees size nodes for
    [-max_abs, max_abs]; a range ending at 0 or below (twos with ABITS=1 and N a power of two: y in
    [-N 2^(WBITS-1), N(2^(WBITS-1)-1)]) fits one bit fewer, so y drops the root's redundant top bit."""
    if node.width <= width:
        return extend(node, width, True)
    lines += [
        "    // the root's top bit only repeats the sign over y's range: y takes the low bits",
        "    /* verilator lint_off UNUSEDSIGNAL */",
        f"    wire [{node.width - 1}:0] y_full = {node.name};",
        "    /* verilator lint_on UNUSEDSIGNAL */",
    ]
    return f"y_full[{width - 1}:0]"


def generate_baseline(spec: DesignSpec) -> ArchDesign:
    """Build the baseline PE: s1 operands, s2 partial sums of signed products, out = their sum."""
    m, k, n, ow = spec.wbits, spec.abits, spec.n, spec.out_width
    enc = spec.enc
    top = top_name(spec)
    plo, phi = enc.y_range(m, k, 1)
    pmax = max(-plo, phi)  # largest |q_w q_a| (pm1: (2^M-1)(2^K-1); twos: 2^(M-1)(2^K-1))
    pb = pmax.bit_length() + 1  # signed product width
    wq, aq = decode_expr("s1_w", m, 0, enc.w_word)[1], decode_expr("s1_a", k, 0, enc.a_word)[1]
    element_groups = baseline_groups(spec)
    n_groups = len(element_groups)
    body: list[str] = [
        header(spec, top, f"baseline PE: {n} signed {wq}x{aq}-bit multipliers, adder tree "
               f"split into {n_groups} partial sums, latency 2, II 1"),
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
        *dict.fromkeys(DECODE_COMMENTS[kind] for kind in (enc.w_word, enc.a_word)),
    ]
    products: list[TreeNode] = []
    for e in range(n):
        body += [
            f"    wire signed [{wq - 1}:0] qw_{e} = {decode_expr('s1_w', m, e, enc.w_word)[0]};",
            f"    wire signed [{aq - 1}:0] qa_{e} = {decode_expr('s1_a', k, e, enc.a_word)[0]};",
            f"    wire signed [{pb - 1}:0] prod_{e} = "
            f"{extend(TreeNode(f'qw_{e}', wq, 0), pb, True)} * {extend(TreeNode(f'qa_{e}', aq, 0), pb, True)};",
        ]
        products.append(TreeNode(f"prod_{e}", pb, pmax))
    parts: list[TreeNode] = []
    loads: list[str] = []
    for g, members in enumerate(element_groups):
        root = adder_tree([products[e] for e in members], f"grp{g}", signed=True, lines=body)
        body.append(f"    reg signed [{root.width - 1}:0] s2_part_{g};")
        loads.append(f"            s2_part_{g} <= {root.name};")
        parts.append(TreeNode(f"s2_part_{g}", root.width, root.max_abs))
    body += [
        "    always @(posedge clk) begin",
        "        if (advance & s1_valid) begin",
        *loads,
        "        end",
        "    end",
    ]
    total = adder_tree(parts, "sum", signed=True, lines=body)
    y_value = fit(total, ow, body)
    body += [
        f"    wire [{ow - 1}:0] y_next = {y_value};",
        "    always @(posedge clk) begin",
        "        if (advance & s2_valid) y <= y_next;",
        "    end",
        "endmodule",
        FOOTER,
    ]
    stages = [
        {"name": "s1", "valid": "s1_valid", "holds": "w and a of the accepted input"},
        {"name": "s2", "valid": "s2_valid",
         "holds": f"{n_groups} partial sums: part[g] = sum of q_w[e]*q_a[e] over a contiguous group of elements"},
        {"name": "out", "valid": "out_valid", "holds": "y = sum_g part[g]"},
    ]
    return ArchDesign(
        top=top,
        modules=(ModuleText(top, "\n".join(body)),),
        latency_cycles=2,
        initiation_interval=1,
        pipeline=lockstep_pipeline(stages),
        extra={
            "baseline": {
                "multipliers": n,
                "multiplier_operand_bits": [wq, aq],
                "product_bits": pb,
                "partial_sums": n_groups,
                "group_sizes": [len(r) for r in element_groups],
            }
        },
    )


def timing(spec: DesignSpec) -> tuple[int, int]:
    """Latency 2 (s1, s2, out), II 1."""
    return 2, 1


def cycle_model(spec: DesignSpec, manifest: Mapping[str, Any] | Path | str | None = None) -> LockstepModel:
    return lockstep_model(spec, baseline_transforms(spec), manifest)


ARCH = Architecture(
    name="baseline",
    description="conventional: N signed multipliers of the decoded words (odd codes, or two's complement x unsigned) "
                "and adder trees; latency 2, II 1",
    generate=generate_baseline,
    timing=timing,
    cycle_model=cycle_model,
    activity=baseline_activity,
    style=Style(color="#d62728", marker="^", label="baseline"),
)
