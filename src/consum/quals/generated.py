"""QUALS's QA generation, the original's way: QAGen writes ``question <sep> answer`` pairs from the
summary by diverse beam search (spec §2), batched over many summaries and cached by content hash."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from consum.generation.diverse_beam import DiverseBeamConfig, diverse_beam_search
from consum.quals.batching import with_oom_backoff
from consum.quals.cache import cache_key
from consum.quals.filtering import QACandidate


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


NOTHING_GENERATED = GeneratedQA(0, [])


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


def cached(scorer, summaries: Sequence[str], settings_key: str, make) -> list[GeneratedQA]:
    """``make(todo)`` -> {summary: GeneratedQA} for the distinct non-empty summaries the cache lacks;
    every summary's result, from the cache (when the scorer has one) or fresh (then stored)."""
    keys = [cache_key(s, scorer.model_hash, settings_key) for s in summaries]
    done: dict[str, GeneratedQA] = {}
    if scorer.cache is not None:
        done = {k: GeneratedQA.from_json(v) for k, v in scorer.cache.get_many(keys).items()}
    todo = list(dict.fromkeys(s for s, k in zip(summaries, keys) if k not in done and s.strip()))
    fresh = make(todo) if todo else {}
    if scorer.cache is not None and fresh:
        scorer.cache.put_many(
            {cache_key(s, scorer.model_hash, settings_key): g.to_json() for s, g in fresh.items()}
        )
    return [done.get(k) or fresh.get(s) or NOTHING_GENERATED for s, k in zip(summaries, keys)]


def generate_qa(scorer, summaries: Sequence[str]) -> list[GeneratedQA]:
    """QA candidates of each summary by diverse beam search (cached by content hash)."""
    gen = scorer.config.generation

    def make(todo: list[str]) -> dict[str, GeneratedQA]:
        fresh: dict[str, GeneratedQA] = {}
        encoded = scorer.tokenizer(todo, truncation=True, max_length=scorer.max_summary_tokens)["input_ids"]
        order = sorted(range(len(todo)), key=lambda i: len(encoded[i]))
        beam_cfg = DiverseBeamConfig(
            num_beams=gen.num_beams, num_groups=gen.num_groups, diversity_strength=gen.diversity_strength,
            min_len=gen.min_len, max_len=gen.max_len, lenpen=gen.lenpen,
        )

        def run_batch(idx: list[int]) -> None:
            batch = scorer.tokenizer.pad({"input_ids": [encoded[i] for i in idx]}, return_tensors="pt").to(
                scorer.device
            )
            with scorer.autocast():
                hyps = diverse_beam_search(
                    scorer.model, batch["input_ids"], batch["attention_mask"], beam_cfg
                )
            for i, h in zip(idx, hyps):
                candidates = candidates_from_tokens(scorer.tokenizer, h, scorer.sep_id)
                fresh[todo[i]] = GeneratedQA(len(h), candidates)

        with scorer.timed("question_generation"):
            with_oom_backoff(run_batch, order, scorer.config.summary_batch_size, "QA generation")
        return fresh

    return cached(scorer, summaries, gen.key(), make)
