"""QUALS's document side: the QA pairs teacher-forced with the document as the QAGen's input.

Each document (each window of it, with ``quals.long_documents=windows``) is encoded ONCE per scoring
batch, and once for consecutive batches, its cross-attention keys and values projected once and copied
to every QA pair of every summary of that document (``source_rows`` of ``teacher_forced_logprobs``);
batches are length-sorted with token budgets, and CUDA out-of-memory halves the budget and retries.

Documents longer than the QAGen reads (``quals.max_document_len``, capped by its positions):
``truncate`` (the original) keeps their first tokens, so a fact stated after the cut reads as
unsupported; ``windows`` scores every pair against overlapping windows of the whole document and keeps
the window that supports it best (:func:`best_window`), the chunking of SummaC and AlignScore.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers.modeling_outputs import BaseModelOutput

from consum.generation import encode
from consum.generation.scoring import answer_positions, right_padded, teacher_forced_logprobs
from consum.quals.aggregation import answer_mean
from consum.quals.batching import pair_batches, with_oom_backoff


@dataclass
class DocumentSide:
    """Per pair, the token log-probs given the document (its best window); per document, whether it was
    cut (``truncate``) and how many windows were scored (1 when it fits)."""

    logprobs: list[list[float]]
    truncated: list[bool]
    windows: list[int]


def document_windows(ids: list[int], max_len: int, stride: int, specials: set[int]) -> list[list[int]]:
    """Overlapping windows of at most ``max_len`` tokens covering all of ``ids``, starting every ``stride``
    tokens, the last one flush with the end. A first or last token in ``specials`` (the tokenizer's
    ``<s> ... </s>``, ``[CLS] ... [SEP]``) is kept in every window.

    >>> document_windows([0, 1, 2, 3, 4, 5, 6, 9], max_len=5, stride=2, specials={0, 9})
    [[0, 1, 2, 3, 9], [0, 3, 4, 5, 9], [0, 4, 5, 6, 9]]
    >>> document_windows([0, 1, 2, 9], max_len=5, stride=2, specials={0, 9})
    [[0, 1, 2, 9]]
    """
    if len(ids) <= max_len:
        return [ids]
    head = ids[:1] if ids[0] in specials else []
    tail = ids[-1:] if ids[-1] in specials else []
    body = ids[len(head) : len(ids) - len(tail)]
    width = max_len - len(head) - len(tail)
    if width < 1 or stride < 1:
        raise ValueError(f"windows of {max_len} tokens every {stride} tokens hold no document text")
    starts = list(range(0, len(body) - width, stride)) + [len(body) - width]
    return [[*head, *body[s : s + width], *tail] for s in starts]


def best_window(window_logprobs: Sequence[Sequence[float]], tokens: Sequence[int], sep_id: int,
                answer_only: bool) -> int:
    """The window that supports a QA pair best: the highest mean log-prob over the tokens its score
    reads (all of them, or the answer's with ``pair_tokens=answer``); ties go to the earlier window.
    Taking it is taking the pair's best score over the windows, since its summary side is fixed.

    >>> best_window([[-1.0, -3.0, -2.0], [-1.0, -1.0, -4.0], [-2.0, -1.5, -1.0]], [5, 99, 2], 99, False)
    2
    """
    def support(logprobs):
        return answer_mean(logprobs, tokens, sep_id) if answer_only else sum(logprobs) / len(logprobs)

    values = [support(lp) for lp in window_logprobs]
    return values.index(max(values))


def document_side(scorer, documents: Sequence[str], pairs: Sequence[tuple[int, list[int]]]) -> DocumentSide:
    """Teacher-forced log p(QA tokens | document) of (document index, tokens) pairs."""
    config, tokenizer = scorer.config, scorer.tokenizer
    max_len = scorer.max_source_tokens(config.max_document_len)
    full = tokenizer(list(documents))["input_ids"]
    too_long = [len(ids) > max_len for ids in full]
    if config.long_documents == "windows":
        window_len = min(config.window_tokens or max_len, max_len)
        stride = config.window_stride or max(window_len // 2, 1)
        specials = set(tokenizer.all_special_ids)
        per_doc = [document_windows(ids, window_len, stride, specials) for ids in full]
    else:
        per_doc = [[ids if len(ids) <= max_len else [*ids[: max_len - 1], ids[-1]]] for ids in full]
    sources = [w for windows in per_doc for w in windows]
    first_source = [0]
    for windows in per_doc:
        first_source.append(first_source[-1] + len(windows))
    expanded = [(first_source[d] + k, tokens) for d, tokens in pairs for k in range(len(per_doc[d]))]
    scoring = _DocumentScoring(scorer, sources, expanded)
    with_oom_backoff(
        scoring.run_batch, range(len(expanded)), config.score_batch_tokens, "QUALS scoring",
        plan=functools.partial(pair_batches, pairs=expanded, doc_lengths=[len(s) for s in sources]),
        min_size=64, size_label="a token budget of",
    )
    logprobs, cursor = [], 0
    for d, tokens in pairs:
        n = len(per_doc[d])
        options = scoring.logprobs[cursor : cursor + n]
        cursor += n
        logprobs.append(options[best_window(options, tokens, scorer.sep_id, config.pair_tokens == "answer")]
                        if n > 1 else options[0])
    truncated = [cut and config.long_documents == "truncate" for cut in too_long]
    return DocumentSide(logprobs, truncated, [len(w) for w in per_doc])


class _DocumentScoring:
    """:func:`document_side` one batch of pair indices at a time, into ``logprobs``.

    The encoder states of the last batch's sources are kept, so a source whose pairs fill several
    consecutive batches is encoded once.
    """

    def __init__(self, scorer, sources: list[list[int]], pairs: Sequence[tuple[int, list[int]]]):
        self.scorer = scorer
        self.sources = sources  # token ids, at most the encoder's length
        self.pairs = pairs
        self.logprobs: list[list[float] | None] = [None] * len(pairs)
        self._last_states: dict[int, torch.Tensor] = {}  # source -> encoder states (tokens, d_model)

    def run_batch(self, batch: list[int]) -> None:
        scorer = self.scorer
        docs = list(dict.fromkeys(self.pairs[p][0] for p in batch))
        position = {d: i for i, d in enumerate(docs)}
        row_doc = torch.tensor([position[self.pairs[p][0]] for p in batch], device=scorer.device)
        targets = [self.pairs[p][1] for p in batch]
        target_ids, target_mask = right_padded(targets, scorer.tokenizer.pad_token_id)
        # pair_tokens=answer reads the answer's tokens only: the LM head runs on those alone
        needed = answer_positions(targets, scorer.sep_id) if scorer.config.pair_tokens == "answer" else None
        with scorer.autocast(), torch.inference_mode():
            with scorer.timed("document_encoding"):
                doc_states, doc_mask = self._encoder_states(docs)
            # the document's cross-attention keys and values are projected once, copied to its QA rows
            with scorer.timed("document_scoring"):
                lp = teacher_forced_logprobs(scorer.model, None, doc_mask, target_ids, target_mask,
                                             encoder_outputs=BaseModelOutput(last_hidden_state=doc_states),
                                             source_rows=row_doc, needed=needed)
                for row, (p, target) in enumerate(zip(batch, targets)):
                    self.logprobs[p] = lp[row, : len(target)].tolist()

    def _encoder_states(self, docs: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-padded encoder states of ``docs`` and their mask; those of the last batch are reused."""
        scorer, device = self.scorer, self.scorer.device
        states = {d: self._last_states[d] for d in docs if d in self._last_states}
        fresh = [d for d in docs if d not in states]
        if fresh:
            ids = [self.sources[d] for d in fresh]
            src = scorer.tokenizer.pad({"input_ids": ids}, return_tensors="pt").to(device)
            out = encode(scorer.model, src["input_ids"], src["attention_mask"]).last_hidden_state
            states.update((d, out[i][src["attention_mask"][i].bool()]) for i, d in enumerate(fresh))
        self._last_states = states
        lengths = torch.tensor([len(self.sources[d]) for d in docs], device=device)
        doc_states = torch.nn.utils.rnn.pad_sequence([states[d] for d in docs], batch_first=True)
        doc_mask = (torch.arange(doc_states.shape[1], device=device) < lengths[:, None]).long()
        return doc_states, doc_mask
