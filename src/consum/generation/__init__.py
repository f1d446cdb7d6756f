"""Our batched decoders on any Hugging Face encoder-decoder, with per-token log-probs.

* ``diverse_beam_search``: fairseq-0.9-style Hamming diverse beam search (QUALS's QA generation).
* ``sample_topk``: top-k sampling, one random stream per (source, sample) (ConSeq's candidates).
* ``teacher_forced_logprobs``: per-token log-probs of given targets (QUALS scoring, checks).
* ``encode``: one encoder pass over padded sources (QUALS encodes each document once and reuses it).

Evaluation beam search is HF ``model.generate(num_beams=...)``; nothing here replaces it.
"""

from consum.generation._decoding import Hypothesis, encode
from consum.generation.diverse_beam import DiverseBeamConfig, diverse_beam_search
from consum.generation.sampling import SamplingConfig, row_seed, sample_topk
from consum.generation.scoring import teacher_forced_logprobs

__all__ = [
    "DiverseBeamConfig",
    "Hypothesis",
    "SamplingConfig",
    "diverse_beam_search",
    "encode",
    "row_seed",
    "sample_topk",
    "teacher_forced_logprobs",
]
