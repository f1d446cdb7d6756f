"""QUALS settings. Defaults are the original's (spec §2.2, §3, §4, §5)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

# The values a QualsConfig setting may take, where they are a closed set (the CLIs offer them as choices).
CHOICES = {
    "filter": ("original", "strict"), "summary_side": ("penalised", "clean"),
    "precision": ("no", "bf16", "fp16"), "answers": ("generated", "spans", "both"),
    "aggregation": ("mean", "min"), "pair_tokens": ("all", "answer"),
    "question_choice": ("first", "grounded", "answerable"), "long_documents": ("truncate", "windows"),
}


@dataclass(frozen=True)
class QAGenerationConfig:
    num_beams: int = 60            # QA pairs generated per summary
    num_groups: int = 60           # diverse beam groups (one beam each)
    diversity_strength: float = 0.5
    min_len: int = 8               # QA tokens: </s> forbidden before step 8
    max_len: int = 60
    lenpen: float = 1.0
    max_summary_len: int = 1024    # summary tokens fed to QAGen (original: 1022 BPE + </s>)

    def key(self) -> str:
        """Stable text of the settings that change what QA generation returns (the cache key part)."""
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class QualsConfig:
    generation: QAGenerationConfig = field(default_factory=QAGenerationConfig)
    filter: str = "original"         # original (parity, soft cap) | strict
    max_qas: int = 10
    summary_side: str = "penalised"  # penalised (parity: includes the diversity penalty) | clean
    max_document_len: int = 1024     # document tokens for teacher forcing (original: 1022 BPE + </s>)
    summary_batch_size: int = 16     # summaries per diverse-beam call (x num_beams decoder rows)
    score_batch_tokens: int = 16384  # teacher-forcing budget: QA rows x longest (document + QA) tokens
    precision: str = "no"            # no | bf16 | fp16 autocast on CUDA (log-softmax stays fp32)
    # Beyond the original (docs/quals.md "Levers"); the defaults are the original's.
    answers: str = "generated"       # generated (parity) | spans (a question per answer span) | both
    answer_extractor: str = "auto"   # spans: regex | chunks | factworld | spacy[:model] | auto (spaCy|regex)
    question_beams: int = 4          # spans: beam size of the answer-conditioned question
    question_choice: str = "first"   # spans: first (top beam) | grounded | answerable (docs/quals.md)
    max_question_len: int = 32       # spans: question tokens
    aggregation: str = "mean"        # mean (parity) | min: a summary is as good as its worst pair
    pair_tokens: str = "all"         # all (parity: question, SEP, answer, EOS) | answer (answer tokens only)
    # Documents longer than the QAGen reads: truncate (parity: the first max_document_len tokens) | windows
    # (every pair scored against overlapping windows of the document, keeping its best-supported window)
    long_documents: str = "truncate"
    window_tokens: int = 0           # windows: tokens per window; 0 = max_document_len (capped by the model)
    window_stride: int = 0           # windows: tokens from one window's start to the next; 0 = half a window

    def __post_init__(self):
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"quals.{name} must be one of {', '.join(allowed)}; got {getattr(self, name)!r}"
                )
        if self.question_beams < 1 or self.max_question_len < 1:
            raise ValueError("quals.question_beams and quals.max_question_len must be >= 1")
        if self.window_tokens < 0 or self.window_stride < 0:
            raise ValueError("quals.window_tokens and quals.window_stride must be >= 0 (0: the default)")
        if self.window_tokens and self.window_stride > self.window_tokens:
            raise ValueError(
                f"quals.window_stride ({self.window_stride}) > window_tokens ({self.window_tokens}) "
                "would skip document text"
            )

    def spans_key(self) -> str:
        """Stable text of the settings that change the answer-span QA pairs (their cache key part);
        ``pair_tokens``: with ``answer`` their summary side holds the answer's log-probs only."""
        keys = ("answer_extractor", "question_beams", "max_question_len", "question_choice", "pair_tokens")
        return json.dumps({"spans": {k: getattr(self, k) for k in keys},
                           "max_summary_len": self.generation.max_summary_len}, sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict) -> QualsConfig:
        values = dict(values)
        generation = QAGenerationConfig(**values.pop("generation", {}))
        return cls(generation=generation, **values)
