"""Comparing stage outputs across process counts, thread counts and batch shapes.

Keys, texts and counts must match exactly: they are what a stage decides. Floats need not: a
float32 log-prob is a reduction (matmuls over d_model, a log-softmax over the vocabulary) whose
summation order depends on the number of threads, the batch shape (padding, rows per matmul) and
the BLAS kernels of the CPU, so the same row computed in another layout differs in its last bits.
Measured: ``gen_logprob_sum`` -40.30764055 (1 process, 2 threads) vs -40.30764103 (2 processes
under torchrun, 1 thread each), a relative difference of 1.2e-8. fp32 has a relative precision of
6e-8 per operation; sums of a few dozen such values, themselves sums of a few hundred products,
stay within ~1e-6 relative. The tolerances below leave an order of magnitude above that and stay
far below any difference a real bug makes (a wrong token or a wrong source changes a log-prob by
0.01 or more).
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

FLOAT_REL = 1e-5
FLOAT_ABS = 1e-5


def assert_same_rows(a: Sequence[dict], b: Sequence[dict], *, floats: Sequence[str]) -> None:
    """Same rows in the same order: every field exactly equal except ``floats`` (within tolerance)."""
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        exact = [k for k in x if k not in floats]
        assert {k: x[k] for k in exact} == {k: y[k] for k in exact}
        for k in floats:
            assert (x[k] is None) == (y[k] is None), k
            if x[k] is not None:
                assert x[k] == pytest.approx(y[k], rel=FLOAT_REL, abs=FLOAT_ABS), (k, x, y)
