"""Time consum's diverse beam search (QUALS's QA generation setting) on a tiny random BART, on CPU.

    HF_HUB_OFFLINE=1 python scripts/bench_decoder.py [--summaries 32 --summary-len 25 --vocab-size 50265 ...]

Prints summaries/s with the defaults (finished groups dropped from the batch, beams with equal prefixes
sharing a decoder row), without sharing, and with neither (the baseline: one row per beam throughout),
plus the hypothesis lengths, since dropping only pays when lengths vary. CPU seconds are printed too:
on a shared machine they move less than wall time. transformers 5.x has no built-in
diverse beam search to compare with. A random model's lengths depend on ``--eos-bias`` (added to the eos
logit) and ``--init-std`` (a wider init gives peaked, prefix-dependent distributions like a trained model).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from transformers import BartConfig, BartForConditionalGeneration

from consum.generation import DiverseBeamConfig, diverse_beam_search


def build_model(args) -> BartForConditionalGeneration:
    torch.manual_seed(0)
    config = BartConfig(
        vocab_size=args.vocab_size,
        d_model=args.d_model,
        encoder_layers=args.layers,
        decoder_layers=args.layers,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=4 * args.d_model,
        decoder_ffn_dim=4 * args.d_model,
        max_position_embeddings=256,
        bos_token_id=0,
        pad_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=2,
        forced_bos_token_id=None,
        tie_word_embeddings=False,
        init_std=args.init_std,
    )
    model = BartForConditionalGeneration(config).eval()
    with torch.no_grad():
        model.final_logits_bias[0, 2] = args.eos_bias
    return model


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--summaries", type=int, default=32)
    parser.add_argument("--summary-len", type=int, default=25)
    parser.add_argument("--batch-size", type=int, default=32, help="summaries per diverse_beam_search call")
    parser.add_argument("--beams", type=int, default=60)
    parser.add_argument("--groups", type=int, default=60)
    parser.add_argument("--max-len", type=int, default=60)
    parser.add_argument("--min-len", type=int, default=8)
    parser.add_argument("--vocab-size", type=int, default=50265)
    parser.add_argument("--d-model", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--init-std", type=float, default=0.1)
    parser.add_argument("--eos-bias", type=float, default=4.0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads; 0 = torch's default")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    model = build_model(args)
    generator = torch.Generator().manual_seed(0)
    input_ids = torch.randint(3, args.vocab_size, (args.summaries, args.summary_len), generator=generator)
    input_ids[:, -1] = 2  # a source ends with eos, as BART inputs do
    attention_mask = torch.ones_like(input_ids)
    config = DiverseBeamConfig(
        num_beams=args.beams, num_groups=args.groups, min_len=args.min_len, max_len=args.max_len
    )
    print(
        f"{args.summaries} summaries x {args.summary_len} tokens, {args.beams} beams / {args.groups} groups, "
        f"max_len {args.max_len}, vocab {args.vocab_size}, d_model {args.d_model}, "
        f"{args.layers}+{args.layers} layers, batch {args.batch_size}, {torch.get_num_threads()} threads"
    )

    def run(drop_finished: bool, share_prefixes: bool):
        results = []
        for start in range(0, args.summaries, args.batch_size):
            batch = slice(start, start + args.batch_size)
            results += diverse_beam_search(
                model,
                input_ids[batch],
                attention_mask[batch],
                config,
                drop_finished=drop_finished,
                share_prefixes=share_prefixes,
            )
        return results

    run(True, True)  # warm-up
    for drop_finished, share_prefixes in ((True, True), (True, False), (False, False)):
        timings = []
        for _ in range(args.repeats):
            wall, cpu = time.perf_counter(), time.process_time()
            results = run(drop_finished, share_prefixes)
            timings.append((time.perf_counter() - wall, time.process_time() - cpu))
        wall, cpu = min(timings)
        lengths = [len(h.tokens) for hypotheses in results for h in hypotheses]
        print(
            f"drop_finished={drop_finished!s:5} share_prefixes={share_prefixes!s:5}  "
            f"{args.summaries / wall:7.2f} summaries/s  "
            f"({wall:.2f} s wall, {cpu:.2f} s CPU)  T mean {statistics.mean(lengths):.1f} "
            f"min {min(lengths)} max {max(lengths)}"
        )


if __name__ == "__main__":
    main()
