"""The ground layer: mechanisms every other package shares (errors, atomic files, tool probes, CLI plumbing).

It imports nothing of bitbranch; model, rtl, verif, flow and reports build on it.
"""
