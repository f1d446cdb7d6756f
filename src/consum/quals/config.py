"""QUALS settings. Defaults are the original's (spec §2.2, §3, §4, §5)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


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

    def __post_init__(self):
        if self.filter not in ("original", "strict"):
            raise ValueError(f"quals.filter must be 'original' or 'strict', got {self.filter!r}")
        if self.summary_side not in ("penalised", "clean"):
            raise ValueError(f"quals.summary_side must be 'penalised' or 'clean', got {self.summary_side!r}")
        if self.precision not in ("no", "bf16", "fp16"):
            raise ValueError(f"quals.precision must be no, bf16 or fp16, got {self.precision!r}")

    @classmethod
    def from_dict(cls, values: dict) -> QualsConfig:
        values = dict(values)
        generation = QAGenerationConfig(**values.pop("generation", {}))
        return cls(generation=generation, **values)
