"""From per-token log-probs of QA pairs to QUALS (spec §5).

For a summary y of document x with kept QA pairs i = 1..N, each a token sequence w^i of length T_i
(question, separator, answer, EOS)::

    pair_score_i = mean_t log p(w^i_t | x, w^i_<t)  -  mean_t s^i_t
    QUALS(x, y)  = (1/N) * sum_i pair_score_i          (None when N = 0)

The caller chooses the summary side ``s`` (config ``summary_side``) by what it passes in:

* ``penalised`` (default, parity with the original): s = log p(w_t | y, w_<t) - 0.5 * c_t, the
  per-token scores of diverse beam search, which include the Hamming diversity penalty. The original
  used these (its ``ns``), so pairs from beam groups > 0 get a lower summary side and a *higher*
  (less negative) QUALS than with clean scores.
* ``clean``: s = log p(w_t | y, w_<t) from teacher forcing the QA sequence on the summary, without the
  penalty.

Worked example (used by the tests). Summary 0 has pairs A (T=3) and B (T=4); summary 1 has pair C (T=4)::

    A: doc [-1, -2, -3]          mean -2.0   summary [-1, -1, -1]             mean -1.0  -> -1.0
    B: doc [-1, -1, -2, -4]      mean -2.0   summary [-0.5, -0.5, -0.5, -0.5] mean -0.5  -> -1.5
    C: doc [-0.5, -0.5, -0.5, -0.5] mean -0.5   summary [-1, -1, -1, -1]      mean -1.0  -> +0.5
    QUALS(summary 0) = (-1.0 - 1.5) / 2 = -1.25;   QUALS(summary 1) = 0.5

Zero pairs give None (lists) or NaN (tensors), never the original's -1e5 sentinel: what to do with such
summaries is the caller's decision (the original skipped them in ConSeq selection).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def _mean(values: Sequence[float]) -> float:
    return float(sum(values)) / len(values)


def pair_score(doc_token_logprobs: Sequence[float], summary_token_logprobs: Sequence[float]) -> float:
    """Mean doc-conditioned log-prob minus mean summary-side log-prob over the same T tokens.

    >>> pair_score([-1.0, -2.0, -3.0], [-1.0, -1.0, -1.0])
    -1.0
    """
    if len(doc_token_logprobs) != len(summary_token_logprobs):
        raise ValueError(
            f"doc and summary log-probs cover different tokens: "
            f"{len(doc_token_logprobs)} vs {len(summary_token_logprobs)}"
        )
    if not doc_token_logprobs:
        raise ValueError("a QA pair has at least one token (EOS); got none")
    return _mean(doc_token_logprobs) - _mean(summary_token_logprobs)


def summary_quals(pair_scores: Sequence[float]) -> float | None:
    """Unweighted mean of a summary's pair scores; None when it has no pairs.

    >>> summary_quals([-1.0, -1.5])
    -1.25
    >>> summary_quals([]) is None
    True
    """
    if not pair_scores:
        return None
    return _mean(pair_scores)


def summary_score(pair_scores: Sequence[float], aggregation: str = "mean") -> float | None:
    """A summary's QUALS from its pair scores: ``mean`` (the original) or ``min``; None without pairs.

    ``min`` scores a summary by its least supported QA pair: one invented fact among five supported
    ones moves the mean by a fifth of its gap, and the minimum by all of it.

    >>> summary_score([-0.5, -0.25, -2.0, 0.75], "mean")
    -0.5
    >>> summary_score([-0.5, -0.25, -2.0, 0.75], "min")
    -2.0
    >>> summary_score([], "min") is None
    True
    """
    if aggregation == "mean":
        return summary_quals(pair_scores)
    if aggregation == "min":
        return min(pair_scores) if pair_scores else None
    raise ValueError(f"aggregation must be 'mean' or 'min', got {aggregation!r}")


def pair_scores_from_padded(
    doc_logprobs: torch.Tensor, summary_logprobs: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Batched :func:`pair_score`: (P, T) log-probs and a (P, T) token mask -> (P,) pair scores.

    Padded positions may hold anything (even -inf); they are excluded before summing. A row with an
    all-zero mask gives NaN.
    """
    if not doc_logprobs.shape == summary_logprobs.shape == mask.shape:
        raise ValueError(
            f"shapes differ: doc {tuple(doc_logprobs.shape)}, summary {tuple(summary_logprobs.shape)}, "
            f"mask {tuple(mask.shape)}"
        )
    mask = mask.bool()
    zero = torch.zeros((), dtype=doc_logprobs.dtype, device=doc_logprobs.device)
    lengths = mask.sum(dim=-1).to(doc_logprobs.dtype)
    # where() rather than multiplying by the mask, since -inf * 0 would be NaN.
    doc_sums = torch.where(mask, doc_logprobs, zero).sum(dim=-1)
    summary_sums = torch.where(mask, summary_logprobs.to(doc_logprobs.dtype), zero).sum(dim=-1)
    return (doc_sums - summary_sums) / lengths


def summary_means(
    pair_scores: torch.Tensor, summary_index: torch.Tensor, n_summaries: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Batched :func:`summary_quals`: average (P,) pair scores into (S,) summary values.

    ``summary_index[p]`` in [0, n_summaries) says which summary pair p belongs to. Returns
    ``(values, counts)``; summaries with no pair get ``count == 0`` and ``value == NaN``.

    >>> values, counts = summary_means(torch.tensor([-1.0, -1.5, 0.5]), torch.tensor([0, 0, 1]), 3)
    >>> values.tolist()[:2], counts.tolist()
    ([-1.25, 0.5], [2, 1, 0])
    """
    if pair_scores.shape != summary_index.shape or pair_scores.dim() != 1:
        raise ValueError(
            f"expected two (P,) tensors, got {tuple(pair_scores.shape)} and {tuple(summary_index.shape)}"
        )
    index = summary_index.long()
    sums = torch.zeros(n_summaries, dtype=pair_scores.dtype, device=pair_scores.device)
    sums.index_add_(0, index, pair_scores)
    counts = torch.zeros(n_summaries, dtype=torch.long, device=pair_scores.device)
    counts.index_add_(0, index, torch.ones_like(index))
    values = sums / counts.to(pair_scores.dtype)  # 0 / 0 = NaN for summaries without pairs
    return values, counts


def answer_mean(token_logprobs: Sequence[float], tokens: Sequence[int], separator_token_id: int) -> float:
    """Mean log-prob over the answer tokens: positions strictly after the first separator, EOS excluded.

    Mirrors the original's ``eval_a_ns``, including its 0.0 for an empty answer.

    >>> answer_mean([-1.0, -2.0, -3.0, -5.0, -9.0], [11, 99, 12, 13, 2], separator_token_id=99)
    -4.0
    """
    if len(token_logprobs) != len(tokens):
        raise ValueError(f"{len(token_logprobs)} log-probs for {len(tokens)} tokens")
    if separator_token_id not in tokens:
        raise ValueError(f"separator token {separator_token_id} not found in the QA tokens")
    answer_start = list(tokens).index(separator_token_id) + 1
    answer_logprobs = token_logprobs[answer_start:-1]
    return _mean(answer_logprobs) if answer_logprobs else 0.0


def answer_only_score(
    doc_token_logprobs: Sequence[float],
    summary_token_logprobs: Sequence[float],
    tokens: Sequence[int],
    separator_token_id: int,
) -> float:
    """Diagnostic: :func:`pair_score` restricted to the answer tokens (doc answer mean - summary answer mean).

    The original's ``eval_a_ns-ns`` subtracted the *full-sequence* summary mean ``ns`` instead; that
    variant is ``answer_mean(doc, ...) - mean(summary)`` if parity is ever needed.

    >>> answer_only_score(
    ...     [-1.0, -2.0, -3.0, -5.0, -9.0], [-1.0, -1.0, -1.0, -2.0, -1.0], [11, 99, 12, 13, 2], 99
    ... )
    -2.5
    """
    if len(doc_token_logprobs) != len(summary_token_logprobs):
        raise ValueError("doc and summary log-probs cover different tokens")
    return answer_mean(doc_token_logprobs, tokens, separator_token_id) - answer_mean(
        summary_token_logprobs, tokens, separator_token_id
    )
