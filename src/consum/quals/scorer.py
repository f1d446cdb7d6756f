"""QUALS core: QA generation from summaries, document-conditioned teacher forcing, aggregation.

For each summary: QAGen generates ``num_beams`` QA sequences by diverse beam search (with per-token
log-probs given the summary), :func:`~consum.quals.filtering.filter_qa` keeps those whose answer
occurs in the summary, and the same token sequences are teacher-forced with the document as encoder
input. QUALS = mean over kept pairs of (mean doc log-prob − mean summary-side log-prob).

Speed: each document is encoded ONCE and its cross-attention keys and values are projected once per
scoring batch, then copied to every QA pair of every summary of that document (``source_rows`` of
``teacher_forced_logprobs``); QA generation is batched over many summaries and cached
by content hash; batches are length-sorted with token budgets; CUDA OOM halves the batch and retries.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers.modeling_outputs import BaseModelOutput

from consum.data.qa import encode_answer_conditioned_source
from consum.generation import encode
from consum.generation.diverse_beam import DiverseBeamConfig, diverse_beam_search
from consum.generation.scoring import teacher_forced_logprobs
from consum.quals.aggregation import answer_mean, answer_only_score, pair_score, summary_score
from consum.quals.answers import answer_extractor
from consum.quals.cache import QACache, cache_key
from consum.quals.config import QualsConfig
from consum.quals.filtering import QACandidate, filter_qa

log = logging.getLogger(__name__)


@dataclass
class QAPairScore:
    question: str
    answer: str
    tokens: list[int]
    doc_logprobs: list[float]
    summary_logprobs: list[float]  # the summary side used (penalised or clean)
    score: float


@dataclass
class QualsResult:
    quals: float | None  # None when no QA pair was kept ("no evidence"), never a magic -1e5
    n_qa: int
    n_generated: int
    pairs: list[QAPairScore] = field(default_factory=list)
    document_truncated: bool = False


@dataclass
class GeneratedQA:
    """QA generation output of one summary: hypotheses that split into exactly question ⊕ SEP ⊕ answer."""

    n_generated: int
    candidates: list[QACandidate]

    def to_json(self) -> dict:
        return {"n_generated": self.n_generated, "candidates": [c.__dict__ for c in self.candidates]}

    @classmethod
    def from_json(cls, value: dict) -> GeneratedQA:
        return cls(value["n_generated"], [QACandidate(**c) for c in value["candidates"]])


def weights_hash(model, path: str | Path | None = None) -> str:
    """Hash of the QAGen weights (files when loaded from a path, else the parameters)."""
    digest = hashlib.sha256()
    files = sorted(Path(path).glob("*.safetensors")) if path else []
    if files:
        for f in files:
            digest.update(f.read_bytes())
    else:
        for name, tensor in sorted(model.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()[:32]


def candidates_from_tokens(tokenizer, hypotheses, sep_id: int) -> list[QACandidate]:
    """Split each hypothesis at the separator token; keep those with exactly one (spec §2.5)."""
    eos = tokenizer.eos_token_id
    out = []
    for index, hyp in enumerate(hypotheses):
        tokens = list(hyp.tokens)
        if tokens.count(sep_id) != 1:
            continue
        sep = tokens.index(sep_id)
        answer_tokens = tokens[sep + 1 : -1] if tokens[-1] == eos else tokens[sep + 1 :]
        out.append(
            QACandidate(
                question=tokenizer.decode(tokens[:sep], skip_special_tokens=True),
                answer=tokenizer.decode(answer_tokens, skip_special_tokens=True),
                tokens=tokens,
                token_logprobs=[float(x) for x in hyp.token_logprobs],
                penalised_logprobs=[float(x) for x in hyp.penalised_logprobs],
                index=index,
            )
        )
    return out


def plan_score_batches(
    todo: Sequence[int], pairs: Sequence[tuple[int, list[int]]], doc_lengths: Sequence[int], budget: int
) -> list[list]:
    """Pack QA pairs into batches of (document, pair indices, cost) units, length-sorted.

    A unit holds pairs of ONE document (it is encoded once per batch); cost per QA row =
    document tokens + QA tokens; a batch keeps rows x max cost under ``budget``.
    """
    pairs_of: dict[int, list[int]] = {}
    for p in todo:
        pairs_of.setdefault(pairs[p][0], []).append(p)
    units = []
    for d in sorted(pairs_of, key=lambda d: doc_lengths[d]):
        ps = sorted(pairs_of[d], key=lambda p: len(pairs[p][1]))
        cost = doc_lengths[d] + len(pairs[ps[-1]][1])
        per_chunk = max(1, budget // cost)
        units.extend((d, ps[i : i + per_chunk], cost) for i in range(0, len(ps), per_chunk))
    batches, current, current_cost, current_rows = [], [], 0, 0
    for unit in units:
        rows, cost = len(unit[1]), unit[2]
        if current and (current_rows + rows) * max(current_cost, cost) > budget:
            batches.append(current)
            current, current_cost, current_rows = [], 0, 0
        current.append(unit)
        current_cost, current_rows = max(current_cost, cost), current_rows + rows
    if current:
        batches.append(current)
    return batches


def pair_batches(
    todo: Sequence[int], budget: int, *, pairs: Sequence[tuple[int, list[int]]], doc_lengths: Sequence[int]
) -> list[list[int]]:
    """``plan_score_batches`` as lists of pair indices, a document's pairs next to each other."""
    # Planned from index order whatever order ``todo`` comes in: the same batches on every retry.
    batches = plan_score_batches(sorted(todo), pairs, doc_lengths, budget)
    return [[p for _, unit_pairs, _ in batch for p in unit_pairs] for batch in batches]


def fixed_size_batches(items: list, size: int) -> list[list]:
    """Consecutive runs of ``size`` items (the last may be shorter)."""
    return [items[start : start + size] for start in range(0, len(items), size)]


def with_oom_backoff(
    run_batch: Callable[[list], None],
    items: Sequence,
    size: int,
    what: str,
    *,
    plan: Callable[[list, int], list[list]] = fixed_size_batches,
    min_size: int = 1,
    size_label: str = "batch size",  # how the log names `size`
) -> None:
    """Run ``items`` in the batches ``plan(items, size)`` makes; on CUDA out-of-memory halve ``size``,
    re-plan the items not yet run and go on (logged). Out of memory at ``size <= min_size`` is raised.

    ``size`` means what ``plan`` makes of it: items per batch (the default), a token budget, ...
    QA generation and document scoring share this one mechanism.
    """
    remaining = list(items)
    while remaining:
        batches = plan(remaining, size)
        for index, batch in enumerate(batches):
            try:
                run_batch(batch)
            except torch.cuda.OutOfMemoryError:
                if size <= min_size:
                    raise
                torch.cuda.empty_cache()
                size //= 2
                log.warning("CUDA out of memory in %s: retrying with %s %d", what, size_label, size)
                remaining = [item for rest in batches[index:] for item in rest]
                break
        else:
            remaining = []


class QualsScorer:
    """QUALS with one QAGen model. ``score(documents, summaries)`` is the metric API."""

    def __init__(self, model, tokenizer, config: QualsConfig | None = None, *, separator: str | None = None,
                 cache: QACache | None = None, model_hash: str | None = None):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.config = config or QualsConfig()
        self.separator = separator or getattr(model.config, "qa_separator", None) or "<sep>"
        self.sep_id = tokenizer.convert_tokens_to_ids(self.separator)
        if self.sep_id is None or self.sep_id == tokenizer.unk_token_id:
            raise ValueError(
                f"the QAGen tokenizer has no separator token {self.separator!r}; "
                "was it trained by train-qagen?"
            )
        if self.config.answers != "generated" and not getattr(model.config, "qa_answer_conditioned", False):
            raise ValueError(
                f"quals.answers={self.config.answers} needs a QAGen that learned answer-conditioned "
                "sources (train-qagen with qagen_data.answer_conditioned > 0); this one did not"
            )
        self.cache = cache
        self.model_hash = model_hash or weights_hash(model)
        self.n_documents_truncated = 0

    @classmethod
    def from_pretrained(
        cls, path: str | Path, *, device: str | None = None, cache_path: str | Path | None = None, **overrides
    ) -> QualsScorer:
        """Load a QAGen (``train-qagen``'s ``model/`` dir, or a hub name).

        ``overrides``: QualsConfig fields.
        """
        from consum.models.loading import load_model, load_tokenizer

        path = Path(path)
        model_dir = path / "model" if (path / "model" / "config.json").exists() else path
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        model = load_model(model_dir).to(device)
        config = QualsConfig.from_dict(overrides)
        cache = QACache(cache_path) if cache_path else None
        return cls(
            model, load_tokenizer(model_dir), config, cache=cache, model_hash=weights_hash(model, model_dir)
        )

    def max_source_tokens(self, configured: int) -> int:
        """The configured encoder length, capped by the model's position embeddings."""
        limit = getattr(self.model.config, "max_position_embeddings", None)
        return min(configured, limit) if limit else configured

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _autocast(self):
        if self.device.type == "cuda" and self.config.precision != "no":
            return torch.autocast(
                "cuda", dtype={"bf16": torch.bfloat16, "fp16": torch.float16}[self.config.precision]
            )
        return contextlib.nullcontext()

    # ---- QA generation ------------------------------------------------------------------------

    def generate(self, summaries: Sequence[str]) -> list[GeneratedQA]:
        """QA candidates of each summary (cached by content hash when a cache is set)."""
        gen = self.config.generation
        keys = [cache_key(s, self.model_hash, gen.key()) for s in summaries]
        done: dict[str, GeneratedQA] = {}
        if self.cache is not None:
            done = {k: GeneratedQA.from_json(v) for k, v in self.cache.get_many(keys).items()}
        todo = list(dict.fromkeys(s for s, k in zip(summaries, keys) if k not in done and s.strip()))
        fresh: dict[str, GeneratedQA] = {}
        max_len = self.max_source_tokens(gen.max_summary_len)
        encoded = self.tokenizer(todo, truncation=True, max_length=max_len)["input_ids"] if todo else []
        order = sorted(range(len(todo)), key=lambda i: len(encoded[i]))
        beam_cfg = DiverseBeamConfig(
            num_beams=gen.num_beams, num_groups=gen.num_groups, diversity_strength=gen.diversity_strength,
            min_len=gen.min_len, max_len=gen.max_len, lenpen=gen.lenpen,
        )

        def run_batch(idx: list[int]) -> None:
            batch = self.tokenizer.pad(
                {"input_ids": [encoded[i] for i in idx]}, return_tensors="pt"
            ).to(self.device)
            with self._autocast():
                hyps = diverse_beam_search(self.model, batch["input_ids"], batch["attention_mask"], beam_cfg)
            for i, h in zip(idx, hyps):
                fresh[todo[i]] = GeneratedQA(len(h), candidates_from_tokens(self.tokenizer, h, self.sep_id))

        with_oom_backoff(run_batch, order, self.config.summary_batch_size, "QA generation")
        if self.cache is not None and fresh:
            self.cache.put_many(
                {cache_key(s, self.model_hash, gen.key()): g.to_json() for s, g in fresh.items()}
            )
        empty = GeneratedQA(0, [])
        return [done.get(k) or fresh.get(s) or empty for s, k in zip(summaries, keys)]

    def span_questions(self, summaries: Sequence[str]) -> list[GeneratedQA]:
        """``quals.answers=spans``: one QA candidate per answer span of each summary (cached).

        The extractor finds the spans; QAGen, given ``span ⊕ SEP ⊕ summary``, writes questions by beam
        search (stopping at SEP); a pair is ``question ⊕ SEP ⊕ span ⊕ </s>`` and its summary side the
        clean log-probs of those tokens teacher-forced on the plain summary, as the document side is on
        the plain document. The questions come from the project's beam search (one group of
        ``question_beams`` beams, ending at SEP). ``quals.question_choice``: ``first`` keeps the top
        beam; ``grounded`` the best :func:`grounded` beam (one that names only what the summary names),
        else the top one; ``answerable`` a grounded beam before one that is not, and among those the
        question under which the summary best predicts the span (mean answer-token log-prob; ties to
        the higher beam): a question about something else ("What award did she win? -> Swedish") is
        not answered by the span, so it is not kept. A span whose questions all come out empty gets no
        pair.
        """
        config = self.config
        keys = [cache_key(s, self.model_hash, config.spans_key()) for s in summaries]
        done: dict[str, GeneratedQA] = {}
        if self.cache is not None:
            done = {k: GeneratedQA.from_json(v) for k, v in self.cache.get_many(keys).items()}
        todo = list(dict.fromkeys(s for s, k in zip(summaries, keys) if k not in done and s.strip()))
        max_len = self.max_source_tokens(config.generation.max_summary_len)
        encoded = self.tokenizer(todo, truncation=True, max_length=max_len)["input_ids"] if todo else []
        requests = [(i, answer) for i, s in enumerate(todo) for answer in self._extract_answers(s)]
        sources = [
            encode_answer_conditioned_source(self.tokenizer, a, encoded[i], self.sep_id, max_len)
            for i, a in requests
        ]
        options: list[list[list[int]]] = [[] for _ in requests]  # distinct QA targets, in beam order
        beam_cfg = DiverseBeamConfig(num_beams=config.question_beams, num_groups=1, min_len=1,
                                     max_len=config.max_question_len)

        def ask(batch: list[int]) -> None:
            ids, mask = right_padded([sources[r] for r in batch], self.tokenizer.pad_token_id)
            with self._autocast():
                hyps = diverse_beam_search(self.model, ids.to(self.device), mask.to(self.device), beam_cfg,
                                           end_token=self.sep_id)
            for r, beams in zip(batch, hyps):
                answer = self.tokenizer(requests[r][1], add_special_tokens=False)["input_ids"]
                for hyp in beams:
                    question = self._question_ids(hyp.tokens)
                    target = [*question, self.sep_id, *answer, self.tokenizer.eos_token_id]
                    if question and target not in options[r]:
                        options[r].append(target)

        order = sorted(range(len(requests)), key=lambda r: len(sources[r]))
        with_oom_backoff(ask, order, 4 * config.summary_batch_size, "answer-span questions")
        for r, targets in enumerate(options):  # answerable scores every option; the others choose now
            if config.question_choice == "grounded":
                summary = todo[requests[r][0]]
                targets[:] = [next((t for t in targets if grounded(self._question_text(t), summary)),
                                   targets[0])] if targets else []
            elif config.question_choice == "first":
                del targets[1:]
        flat = [(r, target) for r in range(len(requests)) for target in options[r]]
        clean = self._summary_logprobs(encoded, [(requests[r][0], target) for r, target in flat])
        best: dict[int, tuple[tuple[bool, float], list[int], list[float]]] = {}
        for (r, target), logprobs in zip(flat, clean):
            rank = (grounded(self._question_text(target), todo[requests[r][0]]),
                    answer_mean(logprobs, target, self.sep_id))
            if r not in best or rank > best[r][0]:  # strictly better: ties keep the higher beam
                best[r] = (rank, target, logprobs)
        per_summary: list[list[QACandidate]] = [[] for _ in todo]
        for r in sorted(best):
            i, answer = requests[r]
            _, tokens, logprobs = best[r]
            per_summary[i].append(QACandidate(
                question=self._question_text(tokens), answer=answer,
                tokens=tokens, token_logprobs=logprobs, penalised_logprobs=logprobs,
                index=len(per_summary[i]),
            ))
        n_spans = [0] * len(todo)
        for i, _ in requests:
            n_spans[i] += 1
        fresh = {s: GeneratedQA(n, cands) for s, n, cands in zip(todo, n_spans, per_summary)}
        if self.cache is not None and fresh:
            key = config.spans_key()
            self.cache.put_many({cache_key(s, self.model_hash, key): g.to_json() for s, g in fresh.items()})
        empty = GeneratedQA(0, [])
        return [done.get(k) or fresh.get(s) or empty for s, k in zip(summaries, keys)]

    @functools.cached_property
    def _extract_answers(self) -> Callable[[str], list[str]]:
        return answer_extractor(self.config.answer_extractor)  # spaCy loads only when spans are asked for

    def _question_text(self, target: list[int]) -> str:
        return self.tokenizer.decode(target[: target.index(self.sep_id)], skip_special_tokens=True)

    def _question_ids(self, generated: list[int]) -> list[int]:
        """The question of a hypothesis: up to SEP (or </s>), special tokens left out."""
        stop = {self.sep_id, self.tokenizer.eos_token_id}
        special = set(self.tokenizer.all_special_ids) - stop
        question = []
        for token in generated:
            if token in stop:
                break
            if token not in special:
                question.append(token)
        return question

    def _summary_logprobs(
        self, summaries: list[list[int]], pairs: list[tuple[int, list[int]]]
    ) -> list[list[float]]:
        """Clean teacher-forced log p(QA tokens | summary) of (summary index, tokens) pairs."""
        out: list[list[float] | None] = [None] * len(pairs)

        def run_batch(batch: list[int]) -> None:
            rows = list(dict.fromkeys(pairs[p][0] for p in batch))
            position = {s: k for k, s in enumerate(rows)}
            ids, mask = right_padded([summaries[s] for s in rows], self.tokenizer.pad_token_id)
            target_ids, target_mask = right_padded([pairs[p][1] for p in batch], self.tokenizer.pad_token_id)
            with self._autocast():
                lp = teacher_forced_logprobs(
                    self.model, ids.to(self.device), mask.to(self.device), target_ids, target_mask,
                    source_rows=torch.tensor([position[pairs[p][0]] for p in batch]),
                )
            for row, p in enumerate(batch):
                out[p] = lp[row, : len(pairs[p][1])].tolist()

        size = 4 * self.config.summary_batch_size
        with_oom_backoff(run_batch, range(len(pairs)), size, "answer-span scoring")
        return out

    # ---- document-conditioned scoring ---------------------------------------------------------

    def doc_logprobs(
        self, documents: Sequence[str], pairs: Sequence[tuple[int, list[int]]]
    ) -> tuple[list[list[float]], list[bool]]:
        """Teacher-forced log p(QA tokens | document) for (document index, tokens) pairs.

        Each document is encoded once (also when its QA rows fill several consecutive batches) and its
        cross-attention keys and values are projected once per batch, then copied to its QA rows.
        Returns per-pair token log-probs and, per document, whether it was truncated.
        """
        max_len = self.max_source_tokens(self.config.max_document_len)
        full = self.tokenizer(list(documents))["input_ids"]
        truncated = [len(ids) > max_len for ids in full]
        encoded = [ids if len(ids) <= max_len else [*ids[: max_len - 1], ids[-1]] for ids in full]
        scoring = _DocumentScoring(self, encoded, pairs)
        with_oom_backoff(
            scoring.run_batch,
            range(len(pairs)),
            self.config.score_batch_tokens,
            "QUALS scoring",
            plan=functools.partial(pair_batches, pairs=pairs, doc_lengths=[len(e) for e in encoded]),
            min_size=64,
            size_label="a token budget of",
        )
        return scoring.logprobs, truncated

    # ---- the whole metric ---------------------------------------------------------------------

    def score_groups(
        self, documents: Sequence[str], summaries: Sequence[Sequence[str]], *, keep_pairs: bool = True
    ) -> list[list[QualsResult]]:
        """QUALS of ``summaries[i][j]`` against ``documents[i]``; each document is encoded once."""
        flat = [(i, s) for i, group in enumerate(summaries) for s in group]
        texts = [s for _, s in flat]
        answers = self.config.answers
        if answers == "spans":
            generated = [GeneratedQA(0, [])] * len(flat)
        else:
            generated = self.generate(texts)
        kept = [
            filter_qa(g.candidates, s, self.config.filter, self.config.max_qas) if s.strip() else []
            for (_, s), g in zip(flat, generated)
        ]
        if answers != "generated":
            for k, asked in enumerate(self.span_questions(texts)):
                kept[k] = with_span_pairs(kept[k], asked.candidates)
                generated[k] = GeneratedQA(generated[k].n_generated + asked.n_generated, [])
        pairs = [(i, c.tokens) for (i, _), cands in zip(flat, kept) for c in cands]
        # also without QA pairs: whether a document is cut is reported for every row
        doc_lps, truncated = self.doc_logprobs(documents, pairs)
        self.n_documents_truncated += sum(truncated)
        results: list[list[QualsResult]] = [[] for _ in documents]
        cursor = 0
        for (i, _), g, cands in zip(flat, generated, kept):
            scored = []
            for c in cands:
                scored.append(score_candidate(c, doc_lps[cursor], self.config, self.sep_id))
                cursor += 1
            quals = summary_score([p.score for p in scored], self.config.aggregation)
            results[i].append(
                QualsResult(quals, len(scored), g.n_generated, scored if keep_pairs else [], truncated[i])
            )
        return results

    def score(
        self, documents: Sequence[str], summaries: Sequence[str], *, keep_pairs: bool = True
    ) -> list[QualsResult]:
        """QUALS of each (document, summary) pair. Identical documents are encoded once."""
        validate_inputs(documents, summaries)
        unique = list(dict.fromkeys(documents))
        index = {d: i for i, d in enumerate(unique)}
        groups: list[list[str]] = [[] for _ in unique]
        slots = []
        for d, s in zip(documents, summaries):
            slots.append((index[d], len(groups[index[d]])))
            groups[index[d]].append(s)
        grouped = self.score_groups(unique, groups, keep_pairs=keep_pairs)
        return [grouped[g][k] for g, k in slots]


_NAME_RUN_OR_NUMBER = re.compile(r"[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*|\d[\d,.]*\d|\d")


def grounded(question: str, summary: str) -> bool:
    """Whether every name (a run of capitalised words, the question's first word aside) and number of
    ``question`` occurs in ``summary``: a question about a summary names only what it names. QAGen's
    own copy errors (a recombined "Bellwether Foods" for the summary's "Bellwether Software" and
    "Veltro Foods") fail it.

    >>> grounded("Who is the chief executive of Veltro Foods?", "Veltro Foods paid $240 million.")
    True
    >>> grounded("Which company is buying Bellwether Foods?", "Veltro Foods bought Bellwether Software.")
    False
    >>> grounded("How many fans watched the 2-1 win?", "Kelso won 3-1.")
    False
    """
    _, _, rest = question.strip().partition(" ")
    return all(name in summary for name in _NAME_RUN_OR_NUMBER.findall(rest))


def with_span_pairs(kept: list[QACandidate], span_pairs: list[QACandidate]) -> list[QACandidate]:
    """The kept generated pairs, then each answer-span pair whose answer no kept pair has (case and
    spaces aside): ``answers=both``; with no generated pair (``answers=spans``) all span pairs."""
    have = {c.answer.strip().lower() for c in kept}
    return kept + [c for c in span_pairs if c.answer.strip().lower() not in have]


def score_candidate(
    candidate: QACandidate, doc_logprobs: list[float], config: QualsConfig, sep_id: int
) -> QAPairScore:
    """A kept pair's score: doc side minus the configured summary side, over all or only answer tokens."""
    side = candidate.penalised_logprobs if config.summary_side == "penalised" else candidate.token_logprobs
    score = (
        pair_score(doc_logprobs, side) if config.pair_tokens == "all"
        else answer_only_score(doc_logprobs, side, candidate.tokens, sep_id)
    )
    return QAPairScore(candidate.question, candidate.answer, candidate.tokens, doc_logprobs, side, score)


def validate_inputs(documents: Sequence, summaries: Sequence) -> None:
    if len(documents) != len(summaries):
        raise ValueError(f"got {len(documents)} documents but {len(summaries)} summaries")
    for row, (d, s) in enumerate(zip(documents, summaries)):
        if not isinstance(d, str):
            raise TypeError(f"row {row}: document must be a string, got {type(d).__name__}")
        if not isinstance(s, str):
            raise TypeError(f"row {row}: summary must be a string, got {type(s).__name__}")
        if not d.strip():
            raise ValueError(f"row {row}: empty document (QUALS needs a source to score against)")


class _DocumentScoring:
    """``QualsScorer.doc_logprobs`` one batch of pair indices at a time, into ``logprobs``.

    The encoder states of the last batch's documents are kept, so a document whose pairs fill several
    consecutive batches is encoded once.
    """

    def __init__(
        self, scorer: QualsScorer, documents: list[list[int]], pairs: Sequence[tuple[int, list[int]]]
    ):
        self.scorer = scorer
        self.documents = documents  # token ids, already cut to the encoder's length
        self.pairs = pairs
        self.logprobs: list[list[float] | None] = [None] * len(pairs)
        self._last_states: dict[int, torch.Tensor] = {}  # document -> encoder states (tokens, d_model)

    def run_batch(self, batch: list[int]) -> None:
        scorer = self.scorer
        docs = list(dict.fromkeys(self.pairs[p][0] for p in batch))
        position = {d: i for i, d in enumerate(docs)}
        row_doc = torch.tensor([position[self.pairs[p][0]] for p in batch], device=scorer.device)
        targets = [self.pairs[p][1] for p in batch]
        target_ids, target_mask = right_padded(targets, scorer.tokenizer.pad_token_id)
        with scorer._autocast(), torch.inference_mode():
            doc_states, doc_mask = self._encoder_states(docs)
            # the document's cross-attention keys and values are projected once, copied to its QA rows
            lp = teacher_forced_logprobs(scorer.model, None, doc_mask, target_ids, target_mask,
                                         encoder_outputs=BaseModelOutput(last_hidden_state=doc_states),
                                         source_rows=row_doc)
        for row, (p, target) in enumerate(zip(batch, targets)):
            self.logprobs[p] = lp[row, : len(target)].tolist()

    def _encoder_states(self, docs: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-padded encoder states of ``docs`` and their mask; those of the last batch are reused."""
        scorer, device = self.scorer, self.scorer.device
        states = {d: self._last_states[d] for d in docs if d in self._last_states}
        fresh = [d for d in docs if d not in states]
        if fresh:
            ids = [self.documents[d] for d in fresh]
            src = scorer.tokenizer.pad({"input_ids": ids}, return_tensors="pt").to(device)
            out = encode(scorer.model, src["input_ids"], src["attention_mask"]).last_hidden_state
            states.update((d, out[i][src["attention_mask"][i].bool()]) for i, d in enumerate(fresh))
        self._last_states = states
        lengths = torch.tensor([len(self.documents[d]) for d in docs], device=device)
        doc_states = torch.nn.utils.rnn.pad_sequence([states[d] for d in docs], batch_first=True)
        doc_mask = (torch.arange(doc_states.shape[1], device=device) < lengths[:, None]).long()
        return doc_states, doc_mask


def right_padded(sequences: Sequence[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows, longest) token ids padded on the right with ``pad``, and the mask of real tokens."""
    width = max(map(len, sequences))
    ids = torch.full((len(sequences), width), pad, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, tokens in enumerate(sequences):
        ids[row, : len(tokens)] = torch.tensor(tokens)
        mask[row, : len(tokens)] = 1
    return ids, mask
