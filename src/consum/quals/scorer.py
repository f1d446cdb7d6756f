"""QUALS: QA pairs of a summary, scored given the document and given the summary (spec §2-§5).

For each summary, QA pairs come from QAGen's diverse beam search (:mod:`consum.quals.generated`, the
original) or, with ``quals.answers=spans``, from a question written for each answer span of the summary
(:mod:`consum.quals.span_questions`); :func:`~consum.quals.filtering.filter_qa` keeps the generated
pairs whose answer occurs in the summary; the same token sequences are teacher-forced with the
document as the encoder input (:mod:`consum.quals.document`). QUALS = mean over kept pairs of (mean
doc log-prob − mean summary-side log-prob) (:mod:`consum.quals.aggregation`).

:class:`QualsScorer` holds the QAGen and the settings and puts the phases together; ``timings`` says
where the time went (seconds per phase, summed over calls).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from consum.quals.aggregation import answer_only_score, pair_score, summary_score
from consum.quals.answers import answer_extractor
from consum.quals.cache import QACache
from consum.quals.config import QualsConfig
from consum.quals.document import document_side
from consum.quals.filtering import QACandidate, filter_qa
from consum.quals.generated import NOTHING_GENERATED, GeneratedQA, generate_qa
from consum.quals.span_questions import span_questions, with_span_pairs


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
    document_truncated: bool = False  # cut at the QAGen's length (long_documents=truncate)
    document_windows: int = 1         # windows of the document scored (long_documents=windows; 1: it fits)


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
        self.n_documents_windowed = 0
        self.timings: dict[str, float] = defaultdict(float)

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
        # an EncoderDecoderModel's positions are its encoder's
        config = getattr(self.model.config, "encoder", self.model.config)
        limit = getattr(config, "max_position_embeddings", None)
        return min(configured, limit) if limit else configured

    @property
    def max_summary_tokens(self) -> int:
        return self.max_source_tokens(self.config.generation.max_summary_len)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def autocast(self):
        if self.device.type == "cuda" and self.config.precision != "no":
            return torch.autocast(
                "cuda", dtype={"bf16": torch.bfloat16, "fp16": torch.float16}[self.config.precision]
            )
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def timed(self, phase: str):
        """Add the wall time of the block to ``timings[phase]`` (CUDA work finished first)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            self.timings[phase] += time.perf_counter() - started

    @functools.cached_property
    def extract_answers(self) -> Callable[[str], list[str]]:
        return answer_extractor(self.config.answer_extractor)  # spaCy loads only when spans are asked for

    # ---- the phases (each in its own module) ----------------------------------------------------

    def generate(self, summaries: Sequence[str]) -> list[GeneratedQA]:
        """QA candidates of each summary by diverse beam search (cached by content hash, given a cache)."""
        return generate_qa(self, summaries)

    def span_questions(self, summaries: Sequence[str]) -> list[GeneratedQA]:
        """``quals.answers=spans``: one QA candidate per answer span of each summary (cached)."""
        return span_questions(self, summaries)

    def doc_logprobs(
        self, documents: Sequence[str], pairs: Sequence[tuple[int, list[int]]]
    ) -> tuple[list[list[float]], list[bool]]:
        """Teacher-forced log p(QA tokens | document) of (document index, tokens) pairs, and whether each
        document was cut."""
        side = document_side(self, documents, pairs)
        return side.logprobs, side.truncated

    def summary_as_read(self, summary: str) -> str:
        """The summary as the QAGen reads it: a lossy tokenizer (WordPiece lowercases and spaces out
        punctuation: "21:45" -> "21 : 45") decodes its answers so, and an answer is matched against that.
        A lossless one (BART's byte-level BPE, the original's) gives the summary back unchanged."""
        ids = self.tokenizer(summary, add_special_tokens=False)["input_ids"]
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    # ---- the whole metric -----------------------------------------------------------------------

    def score_groups(
        self, documents: Sequence[str], summaries: Sequence[Sequence[str]], *, keep_pairs: bool = True
    ) -> list[list[QualsResult]]:
        """QUALS of ``summaries[i][j]`` against ``documents[i]``; each document is encoded once."""
        flat = [(i, s) for i, group in enumerate(summaries) for s in group]
        texts = [s for _, s in flat]
        answers = self.config.answers
        generated = [NOTHING_GENERATED] * len(flat) if answers == "spans" else self.generate(texts)
        kept = [
            filter_qa(g.candidates, self.summary_as_read(s), self.config.filter, self.config.max_qas)
            if s.strip() else []
            for (_, s), g in zip(flat, generated)
        ]
        if answers != "generated":
            for k, asked in enumerate(self.span_questions(texts)):
                kept[k] = with_span_pairs(kept[k], asked.candidates)
                generated[k] = GeneratedQA(generated[k].n_generated + asked.n_generated, [])
        pairs = [(i, c.tokens) for (i, _), cands in zip(flat, kept) for c in cands]
        # also without QA pairs: whether a document is cut is reported for every row
        side = document_side(self, documents, pairs)
        self.n_documents_truncated += sum(side.truncated)
        self.n_documents_windowed += sum(n > 1 for n in side.windows)
        results: list[list[QualsResult]] = [[] for _ in documents]
        cursor = 0
        for (i, _), g, cands in zip(flat, generated, kept):
            scored = []
            for c in cands:
                scored.append(score_candidate(c, side.logprobs[cursor], self.config, self.sep_id))
                cursor += 1
            quals = summary_score([p.score for p in scored], self.config.aggregation)
            results[i].append(QualsResult(quals, len(scored), g.n_generated, scored if keep_pairs else [],
                                          side.truncated[i], side.windows[i]))
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
