r"""Does each model copy by content or by position? (consum.evaluation.copy_probe; issue 12, copy fidelity.)

Prints one row per model: shuffled-chunk continuation accuracy (inside chunks vs at chunk starts) and
teacher-forced surname binding on a data run's references, e.g.

    python scripts/copy_probe.py --data runs/prepare_data/p1 --split test \
        runs/pretrain/<key> runs/train_mle/p1
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from consum.evaluation.copy_probe import probe
from consum.io import open_input


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+", help="run dirs holding model/, or model dirs (with a tokenizer)")
    p.add_argument("--data", required=True, help="a factworld data run dir")
    p.add_argument("--split", default="test")
    p.add_argument("--max-docs", type=int, default=300)
    p.add_argument("--chunk-len", type=int, default=3)
    p.add_argument("--tokenizer", help="for model dirs saved without one (a pretrain run's copy_warmup/)")
    p.add_argument("--output", help="write the numbers as json")
    args = p.parse_args(argv)

    import torch
    from transformers import AutoModelForSeq2SeqLM

    from consum.models import load_tokenizer

    torch.manual_seed(0)
    rows = open_input(args.data).rows(args.split)[: args.max_docs]
    results = {}
    print("| model | inside chunks | chunk starts | surname top-1 | surname log-prob | surnames "
          "| swapped first name: its surname | the role's surname | swaps |")
    print("|---|---|---|---|---|---|---|---|---|")
    for path in args.models:
        model_path = path if Path(path, "config.json").exists() else open_input(path).model_path
        model = AutoModelForSeq2SeqLM.from_pretrained(model_path)
        tokenizer_path = args.tokenizer or model_path
        if not Path(tokenizer_path, "tokenizer_config.json").exists():
            p.error(f"{tokenizer_path} holds no tokenizer (tokenizer_config.json); pass --tokenizer")
        tokenizer = load_tokenizer(tokenizer_path)
        r = probe(model, tokenizer, rows, chunk_len=args.chunk_len)
        results[path] = r
        print(f"| {path} | {100 * r['chunk_within']:.1f}% | {100 * r['chunk_start']:.1f}% | "
              f"{100 * r['surname_top1']:.1f}% | {r['surname_log_prob']:.3f} | {r['n_surnames']} | "
              f"{100 * r['swapped_bound']:.1f}% | {100 * r['swapped_role']:.1f}% | {r['n_swapped']} |",
              flush=True)
    if args.output:
        with open(args.output, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
