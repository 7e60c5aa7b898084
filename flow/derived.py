"""Stage ``liberty``: the filtered liberty per corner (``flow.pdk.derived_liberty``), shared by every design.

It lives under ``<build>/pdk/lib/`` (no folder number: one copy per filter for all designs), so that no other
stage's ``inputs()`` or fingerprint has to write it: they consume the artifacts ``liberty_tt``/``_ss``/``_ff``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from flow.pdk import CORNERS, DONT_USE_PATTERNS, LIBRARY, derived_liberty, derived_liberty_path
from flow.stage import FlowContext, Stage


class LibertyStage(Stage):
    """Filter the PDK's liberty files (dont-use cells removed) at every corner."""

    name = "liberty"
    shared = True
    consumes = tuple(f"pdk_liberty_{c}" for c in CORNERS)
    produces = {f"liberty_{c}": f"{LIBRARY}__{CORNERS[c]}.<hash of source and filter>.lib" for c in CORNERS}

    def dir(self, ctx: FlowContext) -> Path:
        return ctx.pdk_build_dir / "lib"

    def produced(self, ctx: FlowContext) -> dict[str, tuple[Path, ...]]:
        return {f"liberty_{c}": (derived_liberty_path(ctx.pdk, c, ctx.pdk_build_dir, ctx.config.extra_dont_use),)
                for c in CORNERS}

    def config(self, ctx: FlowContext) -> Mapping[str, Any]:
        return {"dont_use_patterns": list(DONT_USE_PATTERNS), "extra_dont_use": sorted(set(ctx.config.extra_dont_use))}

    def run(self, ctx: FlowContext) -> dict[str, Any]:
        for c in CORNERS:
            derived_liberty(ctx.pdk, c, ctx.pdk_build_dir, ctx.config.extra_dont_use)
        return {}
