"""Benchmark: packed XNOR-popcount branch dot product vs numpy's integer dot (N=4096, M=K=2).

Prints the best-of-repeats time per call and the ratio. Two branch figures: the kernel on
already-packed bit planes (how a layer would hold its weights) and including the packing.
"""

from __future__ import annotations

import platform
import timeit

import numpy as np

from model.encoding import branch_dot, branch_popcounts, code_from_word, combine_branches, pack_planes

N, M, K, SEED = 4096, 2, 2, 0


def best(fn, number: int, repeat: int = 7) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def main() -> None:
    rng = np.random.default_rng(SEED)
    w_u, a_u = rng.integers(0, 1 << M, N), rng.integers(0, 1 << K, N)
    qw, qa = code_from_word(w_u, M), code_from_word(a_u, K)
    wp, ap = pack_planes(w_u, M), pack_planes(a_u, K)
    assert int(combine_branches(branch_popcounts(wp, ap, N), N)) == int(qw @ qa) == int(branch_dot(w_u, a_u, M, K))

    t_int = best(lambda: qw @ qa, 2000)
    t_kernel = best(lambda: combine_branches(branch_popcounts(wp, ap, N), N), 2000)
    t_full = best(lambda: branch_dot(w_u, a_u, M, K), 200)
    print(f"N={N} M={M} K={K} numpy {np.__version__} python {platform.python_version()} ({platform.machine()})")
    print(f"  numpy int64 dot (codes)          : {t_int * 1e6:9.2f} us")
    print(f"  branch dot, pre-packed planes    : {t_kernel * 1e6:9.2f} us   ratio {t_kernel / t_int:6.2f}x int dot")
    print(f"  branch dot, packing included     : {t_full * 1e6:9.2f} us   ratio {t_full / t_int:6.2f}x int dot")
    print("  (ratio > 1 means slower than numpy's dot; numpy's dot is one BLAS-free int64 loop,")
    print("   the branch form does M*K XNOR+popcount passes over N/64 words plus numpy call overhead)")


if __name__ == "__main__":
    main()
