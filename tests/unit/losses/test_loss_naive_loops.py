"""Each vectorised loss equals a plain Python loop over rows, tokens and pairs (written from the spec)."""

import math

import pytest

from consum.losses import dpo_loss, margin_rank_loss, sequence_loss, span_unlikelihood_loss, unlikelihood_loss


def log_softmax(values: list[float]) -> list[float]:
    top = max(values)
    log_total = top + math.log(sum(math.exp(v - top) for v in values))
    return [v - log_total for v in values]


def rows_of(batch):
    """Yield ``(is_positive, group, [(label, [log p(v) for v in V]), ...])`` for present rows."""
    for row in range(len(batch.labels)):
        tokens = [
            (label, log_softmax(batch.logits[row, step].tolist()))
            for step, label in enumerate(batch.labels[row].tolist())
            if label != -100
        ]
        if tokens:
            yield bool(batch.is_positive[row]), int(batch.group_ids[row]), tokens, row


def smoothed(log_values: list[float], label: int, epsilon: float) -> float:
    return (1 - epsilon) * -log_values[label] + epsilon / len(log_values) * sum(-v for v in log_values)


def mean_logprob(tokens) -> float:
    return sum(log_p[label] for label, log_p in tokens) / len(tokens)


def pairs_of(scored):
    """All (positive score, negative score) pairs within a document, from ``[(is_pos, group, score)]``."""
    return [
        (pos_score, neg_score)
        for is_pos, group, pos_score in scored
        if is_pos
        for is_neg_pos, neg_group, neg_score in scored
        if not is_neg_pos and neg_group == group
    ]


def test_unlikelihood_equals_loop(batch):
    total, n_tokens = 0.0, 0
    for is_pos, _, tokens, _ in rows_of(batch):
        for label, log_p in tokens:
            values = log_p if is_pos else [math.log(max(1 - math.exp(v), 1e-20)) for v in log_p]
            total += smoothed(values, label, 0.1) * (1.0 if is_pos else 0.5)
            n_tokens += 1
    loss, _ = unlikelihood_loss(
        batch.logits, batch.labels, batch.is_positive, batch.group_ids, neg_weight=0.5
    )
    assert loss.item() == pytest.approx(total / n_tokens, rel=1e-5)


def test_span_unlikelihood_equals_loop(batch):
    total, n_tokens = 0.0, 0
    for is_pos, _, tokens, row in rows_of(batch):
        for step, (label, log_p) in enumerate(tokens):  # rows are right-padded: step = position
            if is_pos:
                total += smoothed(log_p, label, 0.1)
            else:
                weight = 1.0 if batch.span_mask[row, step] else 0.25
                one_minus = [math.log(max(1 - math.exp(v), 1e-20)) for v in log_p]
                total += 0.5 * weight * smoothed(one_minus, label, 0.1)
            n_tokens += 1
    loss, _ = span_unlikelihood_loss(
        batch.logits, batch.labels, batch.is_positive, batch.group_ids, span_mask=batch.span_mask,
        neg_weight=0.5, outside_weight=0.25,
    )
    assert loss.item() == pytest.approx(total / n_tokens, rel=1e-5)


def test_sequence_equals_loop(batch):
    terms = []
    for is_pos, _, tokens, _ in rows_of(batch):
        score = mean_logprob(tokens)
        terms.append(-score if is_pos else -math.log(1 - math.exp(score)))
    loss, _ = sequence_loss(batch.logits, batch.labels, batch.is_positive, batch.group_ids)
    assert loss.item() == pytest.approx(sum(terms) / len(terms), rel=1e-5)


def test_margin_rank_equals_loop(batch):
    scored, nll_terms = [], []
    for is_pos, group, tokens, _ in rows_of(batch):
        total = sum(log_p[label] for label, log_p in tokens)
        scored.append((is_pos, group, total / len(tokens) ** 1.5))
        if is_pos:
            nll_terms += [smoothed(log_p, label, 0.2) for label, log_p in tokens]
    pairs = pairs_of(scored)
    rank = sum(max(0.0, 0.3 - (pos - neg)) for pos, neg in pairs) / len(pairs)
    expected = rank + 0.7 * sum(nll_terms) / len(nll_terms)
    loss, parts = margin_rank_loss(
        batch.logits,
        batch.labels,
        batch.is_positive,
        batch.group_ids,
        margin=0.3,
        length_penalty=1.5,
        nll_weight=0.7,
        label_smoothing=0.2,
    )
    assert parts["rank"].item() == pytest.approx(rank, rel=1e-5)
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_dpo_equals_loop(batch):
    scored, nll_terms = [], []
    for is_pos, group, tokens, row in rows_of(batch):
        policy = sum(log_p[label] for label, log_p in tokens)
        reference = sum(batch.reference_token_logprobs[row, : len(tokens)].tolist())
        scored.append((is_pos, group, 0.5 * (policy - reference)))
        if is_pos:
            nll_terms += [-log_p[label] for label, log_p in tokens]
    pairs = pairs_of(scored)
    dpo = sum(math.log1p(math.exp(-(pos - neg))) for pos, neg in pairs) / len(pairs)
    expected = dpo + 0.25 * sum(nll_terms) / len(nll_terms)
    loss, parts = dpo_loss(
        batch.logits,
        batch.labels,
        batch.is_positive,
        batch.group_ids,
        reference_token_logprobs=batch.reference_token_logprobs,
        beta=0.5,
        nll_weight=0.25,
    )
    assert parts["dpo"].item() == pytest.approx(dpo, rel=1e-5)
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_ranking_diagnostics_equal_loop(batch):
    scored = [(is_pos, group, mean_logprob(tokens)) for is_pos, group, tokens, _ in rows_of(batch)]
    pairs = pairs_of(scored)
    _, parts = unlikelihood_loss(batch.logits, batch.labels, batch.is_positive, batch.group_ids)
    positives = [score for is_pos, _, score in scored if is_pos]
    negatives = [score for is_pos, _, score in scored if not is_pos]
    assert parts["seq_logprob_pos"].item() == pytest.approx(sum(positives) / len(positives), rel=1e-5)
    assert parts["seq_logprob_neg"].item() == pytest.approx(sum(negatives) / len(negatives), rel=1e-5)
    assert parts["margin"].item() == pytest.approx(sum(p - n for p, n in pairs) / len(pairs), rel=1e-5)
    assert parts["rank_acc"].item() == pytest.approx(sum(p > n for p, n in pairs) / len(pairs))
    assert parts["n_pairs"].item() == len(pairs) == 3
