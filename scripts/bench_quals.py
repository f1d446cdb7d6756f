r"""QUALS throughput: the original's cost structure (naive) vs ``QualsScorer.score`` (optimized), same QUALS.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/bench_quals.py                 # tiny random QAGen, CPU
    .venv/bin/python scripts/bench_quals.py --shape bart-large --device cuda --precision bf16 \
        --n-summaries 112
    # a trained QAGen, factworld texts:
    .venv/bin/python scripts/bench_quals.py --model runs/train_qagen/<run_id>

Both paths use the same QAGen, the same (document, summary) inputs and consum's own QUALS pieces
(:class:`~consum.generation.diverse_beam.DiverseBeamConfig` + ``diverse_beam_search``,
``candidates_from_tokens``, ``filter_qa``, ``pair_score``, ``summary_quals``); only the cost structure
differs:

* **naive** (the original's): one summary per diverse-beam-search call (60 decoder rows, all of them
  decoding until the last group finishes, as fairseq's slot refilling keeps them busy, one row per beam
  even where beams share a prefix: ``drop_finished=False, share_prefixes=False``); then, for
  every kept QA pair, ``teacher_forced_logprobs(model, document input_ids, ...)``: the document is
  re-encoded for every pair, one pair per forward; always fp32.
* **optimized**: ``QualsScorer(model, tokenizer, config).score(documents, summaries)``: QA generation
  batched over ``summary_batch_size`` summaries (length-sorted; finished groups leave the batch, beams
  with equal prefixes share a decoder row), each document encoded once and its
  encoder states reused for all QA pairs of all its summaries, token-budget scoring batches;
  ``--precision bf16`` autocasts on CUDA.

The script asserts identical QUALS (``max |diff| <= 1e-4``, None where None) when both run in fp32.

Workload. ``--summaries-per-doc`` (default 7) summaries share a document, as in the ``score_quals``
stage (6 candidates + the reference per document, conf/generation/*.yaml). ``--summaries-per-doc 1``
measures a workload without sharing.

The default QAGen is random, so it needs help to produce QA pairs that pass the filter (an answer
must occur in the summary, the sequence must hold exactly one separator). It is a
``BartForConditionalGeneration`` (the consum tiny shape: ``build_tiny_bart``, d_model 128, 2+2
layers; or ``--shape bart-large``: d_model 1024, 12+12 layers, 16 heads, ffn 4096, vocab 50265)
whose logits get a fixed *position-dependent* bias (a non-persistent buffer, a few adds per step;
the network's compute is unchanged): at question positions a set of 20 "question words" +20, then
"?" +100, the ``<sep>`` token +100, at the answer position a set of 12 "answer words" +20, then eos
+100. QA sequences are therefore ``q q ... q ? <sep> a </s>`` of a fixed length (``--qa-len``
tokens, or ``--force-qa-len N`` + 1 with ``min_len = max_len = N``), the Hamming penalty spreads the
60 groups over the word sets, and the random network's own logits (the summary-dependent part)
break ties. Every summary contains all 12 answer words (shuffled, plus random filler words), so
all answers pass the ``original`` filter (and the ``strict`` one: whole-word answer, question
ending in "?") and ~10-12 pairs per summary are kept and scored against
the document: the document-scoring part is fully exercised. Documents and summaries are random
words of the tokenizer (each a single BPE token), of exactly ``--doc-tokens`` / ``--summary-tokens``
tokens with ``<s>``/``</s>``. The plain "raise the ``<sep>`` bias" model kept 0 pairs: a random
decoder repeats one token for the whole sequence, so it holds 0 or 60 separators.

With ``--model PATH`` (a train_qagen run dir or model dir) the texts are factworld ``tiny``
documents with their reference summaries (natural lengths; ``--doc-tokens``/``--summary-tokens`` unused).

The table splits each path's time into QA generation (beam search, candidates, filtering) and
document scoring (teacher forcing on the document, aggregation); ``--profile`` adds cProfile.

Memory: on CUDA ``torch.cuda.max_memory_allocated`` per path (after ``reset_peak_memory_stats``);
on CPU the process RSS sampled every 5 ms by psutil during each path: peak, and peak minus the RSS
at the start of the path.

FLOPs (reported on CUDA, the work both paths must do; the same count for both paths):

    FLOPs = 2 * P_enc * N_enc + 2 * P_dec * N_dec

* ``P_enc``: encoder parameters without the token/position embeddings (lookups, no FLOPs);
* ``P_dec``: decoder parameters without embeddings, plus the LM head (vocab x d_model; tied with the
  embedding but a real matmul per token);
* ``N_enc``: tokens encoded = each distinct summary once (generation) + each distinct document once
  (scoring), real tokens only;
* ``N_dec``: decoder tokens = the tokens of every generated hypothesis (one decoder step per token
  per beam) + the tokens of every kept QA pair (teacher forcing).

Left out (so the figure is a lower bound): attention score/value products (~4 * context * d_model per
token and layer) and the cross-attention K/V projections of the encoder states (once per source in
generation, once per QA row in scoring). The naive path's re-encoding of the document per pair is
*not* counted: TFLOP/s is useful work per second, comparable between the paths.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import random
import threading
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch  # noqa: E402
from transformers import BartConfig, BartForConditionalGeneration  # noqa: E402

N_QUESTION_WORDS, N_ANSWER_WORDS = 20, 12
# STRUCTURE_BIAS > the largest Hamming penalty (0.5 * 2 * 59 = 59) for structure tokens
WORD_BIAS, STRUCTURE_BIAS = 20.0, 100.0


class StructuredQAGen(BartForConditionalGeneration):
    """A random BART whose logits get ``qa_position_bias[decoder position]`` (see the module docstring)."""

    def set_position_bias(self, bias: torch.Tensor) -> None:
        self.register_buffer("qa_position_bias", bias.to(self.final_logits_bias.device), persistent=False)

    def forward(self, *args, **kwargs):
        cache = kwargs.get("cache")
        # The position of the first new token: read before the forward extends the cache.
        start = cache.get_seq_length() if cache is not None else 0
        out = super().forward(*args, **kwargs)
        bias = getattr(self, "qa_position_bias", None)
        if bias is not None:
            length = out.logits.shape[1]
            positions = (torch.arange(start, start + length, device=bias.device)).clamp(max=bias.shape[0] - 1)
            # in place: no copy of the logits
            out.logits = out.logits.add_(bias[positions].to(out.logits.dtype))
        return out


# ---- inputs and models -----------------------------------------------------------------------------


def make_tokenizer():
    from consum.data.factworld import FactworldConfig, generate_corpus
    from consum.models import add_separator_token, train_bpe_tokenizer

    corpus = generate_corpus(FactworldConfig(size="tiny", seed=0))
    tokenizer = train_bpe_tokenizer(
        (t for rows in corpus.values() for r in rows for t in (r["document"], r["summary"])),
        vocab_size=6000, min_frequency=2,
    )
    add_separator_token(tokenizer, "<sep>")
    return tokenizer


def single_token_words(tokenizer) -> list[int]:
    """Ids of lower-case word tokens ("Ġword") that re-encode to themselves: texts of known token length."""
    words = []
    for token, index in sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1]):
        if token.startswith("Ġ") and token[1:].isalpha() and token[1:].islower():
            text = tokenizer.convert_tokens_to_string([token])
            if tokenizer(text, add_special_tokens=False)["input_ids"] == [index]:
                words.append(index)
    return words


def build_random_qagen(args, tokenizer, qa_total: int, word_sets) -> StructuredQAGen:
    from consum.models import build_tiny_bart

    if args.shape == "tiny":
        config = build_tiny_bart(tokenizer, dropout=0.0, seed=0).config
    else:  # bart-large's shape, random weights; the tokenizer covers the first ids of its 50265
        config = BartConfig(
            vocab_size=50265, d_model=1024, encoder_layers=12, decoder_layers=12, encoder_attention_heads=16,
            decoder_attention_heads=16, encoder_ffn_dim=4096, decoder_ffn_dim=4096,
            max_position_embeddings=1024, dropout=0.0, attention_dropout=0.0,
            pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.eos_token_id,
            forced_bos_token_id=None, forced_eos_token_id=tokenizer.eos_token_id, scale_embedding=False,
            tie_word_embeddings=True,
        )
    config.dropout = config.attention_dropout = 0.0
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = StructuredQAGen(config)
    question_words, answer_words = word_sets
    sep, eos = tokenizer.convert_tokens_to_ids("<sep>"), tokenizer.eos_token_id
    question_mark = tokenizer.convert_tokens_to_ids("?")
    # positions 0..qa_total-1 hold: question words, "?", <sep>, one answer word, eos (at qa_total - 1)
    bias = torch.zeros(qa_total + 1, config.vocab_size)
    for position in range(qa_total - 4):
        bias[position, question_words] = WORD_BIAS
    # questions end in "?": the strict filter keeps them too
    bias[qa_total - 4, question_mark] = STRUCTURE_BIAS
    bias[qa_total - 3, sep] = STRUCTURE_BIAS
    bias[qa_total - 2, answer_words] = WORD_BIAS
    bias[qa_total - 1 :, eos] = STRUCTURE_BIAS
    model.set_position_bias(bias)
    return model.eval()


def random_inputs(args, tokenizer, word_sets) -> tuple[list[str], list[str]]:
    """Documents of random words; per document ``summaries_per_doc`` summaries holding every answer word."""
    rng = random.Random(0)
    pool = single_token_words(tokenizer)
    _, answer_words = word_sets
    n_docs = -(-args.n_summaries // args.summaries_per_doc)
    docs = [tokenizer.decode([rng.choice(pool) for _ in range(args.doc_tokens - 2)]) for _ in range(n_docs)]
    documents, summaries = [], []
    filler = args.summary_tokens - 2 - len(answer_words)
    if filler < 0:
        raise SystemExit(f"--summary-tokens must be >= {len(answer_words) + 2} (all answer words + <s> </s>)")
    for i in range(args.n_summaries):
        words = list(answer_words) + [rng.choice(pool) for _ in range(filler)]
        rng.shuffle(words)
        documents.append(docs[i // args.summaries_per_doc])
        summaries.append(tokenizer.decode(words))
    return documents, summaries


def factworld_inputs(args) -> tuple[list[str], list[str]]:
    from consum.data.factworld import FactworldConfig, generate_corpus

    rows = generate_corpus(FactworldConfig(size="tiny", seed=0))["test"]
    n_docs = -(-args.n_summaries // args.summaries_per_doc)
    rows = (rows * (1 + n_docs // len(rows)))[:n_docs]
    documents = [rows[i // args.summaries_per_doc]["document"] for i in range(args.n_summaries)]
    summaries = [rows[i // args.summaries_per_doc]["summary"] for i in range(args.n_summaries)]
    # several summaries of one document must differ, else the optimized path deduplicates them
    summaries = [
        s if i % args.summaries_per_doc == 0 else f"{s} ({i % args.summaries_per_doc})"
        for i, s in enumerate(summaries)
    ]
    return documents, summaries


# ---- the two paths -----------------------------------------------------------------------------------


def naive_quals(
    model, tokenizer, config, documents, summaries, counts: dict, sep_id: int
) -> list[float | None]:
    """The original's cost structure: one summary per beam search, the document re-encoded per QA pair."""
    from consum.generation.diverse_beam import DiverseBeamConfig, diverse_beam_search
    from consum.generation.scoring import teacher_forced_logprobs
    from consum.quals.aggregation import pair_score, summary_quals
    from consum.quals.filtering import filter_qa
    from consum.quals.generated import candidates_from_tokens

    gen = config.generation
    beam_cfg = DiverseBeamConfig(
        num_beams=gen.num_beams, num_groups=gen.num_groups, diversity_strength=gen.diversity_strength,
        min_len=gen.min_len, max_len=gen.max_len, lenpen=gen.lenpen,
    )
    device = next(model.parameters()).device
    out = []
    for document, summary in zip(documents, summaries):
        if not summary.strip():
            out.append(None)
            continue
        started = time.perf_counter()
        src = tokenizer(
            [summary], truncation=True, max_length=gen.max_summary_len, return_tensors="pt"
        ).to(device)
        # fairseq keeps every beam slot decoding (finished slots are refilled) until the sentence is done,
        # one decoder row per beam (no rows shared by beams with equal prefixes)
        hyps = diverse_beam_search(
            model, src["input_ids"], src["attention_mask"], beam_cfg, drop_finished=False,
            share_prefixes=False,
        )[0]
        counts["gen_dec_tokens"] += sum(len(h.tokens) for h in hyps)
        kept = filter_qa(
            candidates_from_tokens(tokenizer, hyps, sep_id), summary, config.filter, config.max_qas
        )
        sync(device)
        scoring = time.perf_counter()
        counts["generation_s"] += scoring - started
        ids = tokenizer(document)["input_ids"]
        if len(ids) > config.max_document_len:  # as QualsScorer.doc_logprobs: cut, keeping </s>
            ids = [*ids[: config.max_document_len - 1], ids[-1]]
        doc = torch.tensor([ids], device=device)
        scores = []
        for c in kept:
            target = torch.tensor([c.tokens], device=device)
            doc_lp = teacher_forced_logprobs(
                model, doc, torch.ones_like(doc), target, torch.ones_like(target)
            )[0].tolist()
            side = c.penalised_logprobs if config.summary_side == "penalised" else c.token_logprobs
            scores.append(pair_score(doc_lp, side))
            counts["score_dec_tokens"] += len(c.tokens)
        counts["kept"] += len(kept)
        out.append(summary_quals(scores))
        sync(device)
        counts["scoring_s"] += time.perf_counter() - scoring
    return out


def optimized_quals(scorer, documents, summaries, phases: dict | None = None) -> list:
    """``scorer.score``; with ``phases``, its generation and document-scoring seconds (``scorer.timings``)."""
    before = dict(scorer.timings)
    out = scorer.score(documents, summaries, keep_pairs=True)
    if phases is not None:
        spent = {k: v - before.get(k, 0.0) for k, v in scorer.timings.items()}
        phases["generation_s"] += spent.get("question_generation", 0.0)
        phases["scoring_s"] += spent.get("document_encoding", 0.0) + spent.get("document_scoring", 0.0)
    return out


def sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


# ---- measurement ---------------------------------------------------------------------------------------


class PeakMemory:
    """Peak memory of a block: CUDA allocator peak, or sampled process RSS on CPU (psutil), else n/a."""

    def __init__(self, device: torch.device):
        self.device = device
        self.peak = self.start = None
        self._stop = threading.Event()

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.start = torch.cuda.memory_allocated()
            return self
        try:
            import psutil
        except ImportError:
            return self
        process = psutil.Process()
        self.start = self.peak = process.memory_info().rss

        def sample():
            while not self._stop.wait(0.005):
                self.peak = max(self.peak, process.memory_info().rss)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            self.peak = torch.cuda.max_memory_allocated()
        elif self.start is not None:
            self._stop.set()
            self._thread.join()
        return False

    def text(self) -> str:
        if self.peak is None:
            return "n/a"
        what = "allocated" if self.device.type == "cuda" else "RSS"
        return f"{self.peak / 2**20:.0f} MiB {what} (+{(self.peak - self.start) / 2**20:.0f})"


def timed(fn, device, profile: bool):
    profiler = cProfile.Profile() if profile else None
    with PeakMemory(device) as memory:
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        result = fn()
        if profiler:
            profiler.disable()
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - started
    report = None
    if profiler:
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(18)
        report = stream.getvalue()
    return result, seconds, memory, report


def flop_count(model, tokenizer, documents, summaries, counts) -> float:
    cfg = model.config
    d, vocab = cfg.d_model, cfg.vocab_size
    def params(module, skip=("embed_tokens", "embed_positions")):
        return sum(p.numel() for n, p in module.named_parameters() if not any(s in n for s in skip))
    p_enc = params(model.get_encoder())
    p_dec = params(model.get_decoder()) + vocab * d
    n_enc = sum(len(ids) for ids in tokenizer(list(dict.fromkeys(summaries)))["input_ids"])
    n_enc += sum(min(len(ids), 1024) for ids in tokenizer(list(dict.fromkeys(documents)))["input_ids"])
    n_dec = counts["gen_dec_tokens"] + counts["score_dec_tokens"]
    return 2 * p_enc * n_enc + 2 * p_dec * n_dec


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model", default=None, help="a train_qagen run dir or model dir; default: a random QAGen"
    )
    parser.add_argument("--shape", choices=("tiny", "bart-large"), default="tiny", help="random QAGen shape")
    parser.add_argument(
        "--doc-tokens", type=int, default=430, help="random documents: tokens incl. <s> </s> (XSum-like)"
    )
    parser.add_argument(
        "--summary-tokens", type=int, default=25, help="random summaries: tokens incl. <s> </s>"
    )
    parser.add_argument(
        "--qa-len", type=int, default=20, help="random QAGen: QA tokens incl. eos (without --force-qa-len)"
    )
    parser.add_argument(
        "--force-qa-len", type=int, default=None, help="min_len = max_len = N: every QA has N+1 tokens"
    )
    parser.add_argument("--n-summaries", type=int, default=28)
    parser.add_argument(
        "--summaries-per-doc", type=int, default=7, help="7 = score_quals: 6 candidates + the reference"
    )
    parser.add_argument("--num-beams", type=int, default=60, help="QA pairs per summary; one beam per group")
    parser.add_argument("--filter", choices=("original", "strict"), default="original")
    parser.add_argument(
        "--summary-batch-size", type=int, default=16, help="optimized path: summaries per beam search"
    )
    parser.add_argument(
        "--score-batch-tokens", type=int, default=16384, help="optimized path: teacher-forcing budget"
    )
    parser.add_argument(
        "--precision", choices=("no", "bf16"), default="no", help="optimized path on CUDA (naive: fp32)"
    )
    parser.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    parser.add_argument(
        "--threads", type=int, default=1,
        help="CPU torch threads (0 = torch's default); 1 is steadier on a shared machine",
    )
    parser.add_argument("--profile", action="store_true", help="print the top cProfile entries of each path")
    parser.add_argument(
        "--skip-naive", action="store_true", help="time only the optimized path (no equality check)"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if args.shape == "bart-large" and device.type != "cuda":
        print(
            "warning: --shape bart-large is meant for a GPU; on CPU keep --n-summaries and --num-beams tiny"
        )

    from consum.quals.config import QAGenerationConfig, QualsConfig
    from consum.quals.scorer import QualsScorer

    qa_total = (args.force_qa_len + 1) if args.force_qa_len else args.qa_len
    gen = QAGenerationConfig(num_beams=args.num_beams, num_groups=args.num_beams)
    if args.force_qa_len:
        gen = QAGenerationConfig(
            num_beams=args.num_beams, num_groups=args.num_beams, min_len=args.force_qa_len,
            max_len=args.force_qa_len,
        )
    config = QualsConfig(generation=gen, filter=args.filter, summary_batch_size=args.summary_batch_size,
                         score_batch_tokens=args.score_batch_tokens, precision=args.precision)
    if args.model:
        from pathlib import Path

        from consum.models.loading import load_model, load_tokenizer

        path = Path(args.model)
        model_dir = path / "model" if (path / "model" / "config.json").exists() else path
        model, tokenizer = load_model(model_dir).to(device).eval(), load_tokenizer(model_dir)
        documents, summaries = factworld_inputs(args)
        what = f"QAGen {model_dir}, factworld tiny test documents + references"
    else:
        if not gen.min_len + 1 <= qa_total <= gen.max_len + 1 or qa_total < 5:
            raise SystemExit(
                f"--qa-len {qa_total} must lie in [{max(5, gen.min_len + 1)}, {gen.max_len + 1}]"
            )
        tokenizer = make_tokenizer()
        rng = random.Random(1)
        words = single_token_words(tokenizer)
        chosen = rng.sample(words, N_QUESTION_WORDS + N_ANSWER_WORDS)
        word_sets = (chosen[:N_QUESTION_WORDS], chosen[N_QUESTION_WORDS:])
        model = build_random_qagen(args, tokenizer, qa_total, word_sets).to(device)
        documents, summaries = random_inputs(args, tokenizer, word_sets)
        what = f"random QAGen ({args.shape}), QA sequences of {qa_total} tokens"
    doc_len = [len(x) for x in tokenizer(list(dict.fromkeys(documents)))["input_ids"]]
    sum_len = [len(x) for x in tokenizer(summaries)["input_ids"]]
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{what}; {n_params / 1e6:.1f} M parameters, vocab {model.config.vocab_size}; device {device}, "
          f"torch threads {torch.get_num_threads()}")
    print(f"{len(summaries)} summaries ({min(sum_len)}-{max(sum_len)} tokens) of {len(doc_len)} documents "
          f"({min(doc_len)}-{max(doc_len)} tokens); {args.num_beams} beams/groups; filter {args.filter}; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")

    scorer = QualsScorer(model, tokenizer, config, separator=None if args.model else "<sep>")
    # warm-up: one small call of each so lazy initialisation is not timed
    warm = min(2, len(summaries))
    naive_quals(
        model, tokenizer, config, documents[:1], summaries[:1],
        {"gen_dec_tokens": 0, "score_dec_tokens": 0, "kept": 0, "generation_s": 0.0, "scoring_s": 0.0},
        scorer.sep_id,
    )
    optimized_quals(scorer, documents[:warm], summaries[:warm])

    counts = {"gen_dec_tokens": 0, "score_dec_tokens": 0, "kept": 0, "generation_s": 0.0, "scoring_s": 0.0}
    phases = {"generation_s": 0.0, "scoring_s": 0.0}
    rows = []
    naive = None
    if not args.skip_naive:
        naive, t_naive, m_naive, p_naive = timed(
            lambda: naive_quals(model, tokenizer, config, documents, summaries, counts, scorer.sep_id),
            device, args.profile,
        )
        rows.append(("naive (original cost)", t_naive, m_naive, counts))
    fast, t_fast, m_fast, p_fast = timed(
        lambda: optimized_quals(scorer, documents, summaries, phases), device, args.profile
    )
    rows.append(("optimized QualsScorer", t_fast, m_fast, phases))

    fast_quals = [r.quals for r in fast]
    kept = sum(r.n_qa for r in fast)
    n_none = sum(q is None for q in fast_quals)
    print(
        f"kept QA pairs: {kept} ({kept / len(summaries):.1f} per summary), "
        f"summaries without pairs (QUALS None): {n_none}"
    )
    if naive is not None:
        mismatched_none = [i for i, (a, b) in enumerate(zip(naive, fast_quals)) if (a is None) != (b is None)]
        diffs = [abs(a - b) for a, b in zip(naive, fast_quals) if a is not None and b is not None]
        max_diff = max(diffs, default=0.0)
        print(
            f"QUALS naive vs optimized: max |diff| {max_diff:.2e} over {len(diffs)} summaries, "
            f"None mismatches {len(mismatched_none)}"
        )
        exact = args.precision == "no"
        if exact:
            assert not mismatched_none, f"None differs at summaries {mismatched_none[:5]}"
            assert max_diff <= 1e-4, f"QUALS differ by {max_diff}"
        else:
            print("(bf16: differences expected, equality not asserted)")
    else:
        for r in fast:  # the FLOP count needs the token counts that the naive path collects
            counts["score_dec_tokens"] += sum(len(p.tokens) for p in r.pairs)
        counts["gen_dec_tokens"] = None

    work = (
        flop_count(model, tokenizer, documents, summaries, counts)
        if counts["gen_dec_tokens"] is not None
        else None
    )
    flops = work if device.type == "cuda" else None  # TFLOP/s column on GPU only
    base = rows[0][1]
    header = (f"{'path':<24}| {'summaries':>9} | {'seconds':>8} | {'summaries/s':>11} | {'speedup':>7} | "
              f"{'QA generation s':>15} | {'doc scoring s':>13} | {'peak memory':<26}")
    if flops:
        header += f" | {'TFLOP/s':>7}"
    print("\n" + header)
    print("-" * len(header))
    for name, seconds, memory, split in rows:
        line = (f"{name:<24}| {len(summaries):>9} | {seconds:>8.2f} | {len(summaries) / seconds:>11.2f} | "
                f"{base / seconds:>6.1f}x | {split['generation_s']:>15.2f} | {split['scoring_s']:>13.2f} | "
                f"{memory.text():<26}")
        if flops:
            line += f" | {flops / seconds / 1e12:>7.2f}"
        print(line)
    if work:
        print(f"useful work: {work / 1e12:.4f} TFLOP (2*P_enc*N_enc + 2*P_dec*N_dec, see the docstring): "
              f"N_dec = {counts['gen_dec_tokens']} generated + {counts['score_dec_tokens']} scored tokens")
    if args.profile:
        for name, report in (("naive", None if args.skip_naive else p_naive), ("optimized", p_fast)):
            if report:
                print(f"\n---- cProfile: {name} ----\n{report}")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
