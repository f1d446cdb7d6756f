"""Training throughput of consum's MLE recipe vs ``transformers.Seq2SeqTrainer``, same model and data.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/bench_train.py [--warmup 5 --updates 72 --repeats 3 --threads N]

Both sides train the same tiny random BART (``consum.models.build_tiny_bart``, d_model 128, 2+2
layers, same init seed, dropout 0.1) on the same tokenized examples (factworld ``tiny`` documents and
summaries, BPE from ``consum.models.train_bpe_tokenizer``, sources cut to 512 tokens, targets to 128,
both with ``<s> ... </s>``), with label smoothing 0.1, AdamW (lr, betas, eps, weight decay 0.01 on
matrices), constant lr, grad-norm clip 0.1, fp32 on CPU, one process.

* **consum**: the real :func:`consum.training.loop.train_loop` with the MLE micro-step
  (:func:`consum.training.mle.mle_micro_step` over :func:`consum.training.mle.pair_data`) in a
  temporary run dir: fairseq-style token-budget micro-batches (``n_examples x longest <= max_tokens``,
  length-sorted, shuffled batch order), no checkpoints, no evaluation.
* **Seq2SeqTrainer**: ``DataCollatorForSeq2Seq`` (labels padded with -100, ``decoder_input_ids``
  from the model), random sampler, ``per_device_train_batch_size`` = the mean number of examples per
  consum micro-batch (rounded), so both sides see the same examples per update on average
  (``--hf-batch-size`` overrides). No eval, no saving, ``report_to=[]``, ``use_cpu=True``,
  ``dataloader_num_workers=0``.

What is matched: examples per update (on average) and therefore real tokens per update (on average);
what is not: padding. consum packs length-sorted batches, the Trainer's random batches pad to their
longest member, so it computes on more pad positions per real token (the table shows padded tokens).
``--hf-group-by-length`` gives the Trainer a length-grouped sampler instead.

Runs alternate (consum, Trainer, consum, Trainer, ... ``--repeats`` times) and the fastest run of
each recipe is reported, since other processes on a shared CPU slow single runs unevenly. The table
also gives tokens per second of process CPU time (``time.process_time``, all threads), which other load
distorts much less than wall time. One torch thread by default (``--threads 0`` for torch's default):
on a busy 2-core machine, 2 OpenMP threads per process made single updates up to 100x slower.

Timing: ``--warmup`` updates are run and discarded, then the wall time of the next ``--updates``
updates is measured (optimizer step to optimizer step: consum through a logger called after every
update, the Trainer through ``on_step_end``). Tokens are real (non-pad) source + target tokens of the
micro-batches that entered the model in the measured updates, counted in the loss function of each side.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from dataclasses import dataclass, field

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch  # noqa: E402

LR, BETAS, EPS, WEIGHT_DECAY, CLIP, SMOOTHING = 3e-4, (0.9, 0.999), 1e-8, 0.01, 0.1, 0.1


@dataclass
class Meter:
    """Real and padded tokens and examples that entered the model, and a timestamp per finished update."""

    tokens: int = 0
    padded: int = 0
    examples: int = 0
    # (update, wall, tokens, padded, examples, cpu) after each update
    marks: list = field(default_factory=list)

    def count(self, attention_mask: torch.Tensor, labels: torch.Tensor) -> None:
        self.tokens += int(attention_mask.sum()) + int((labels != -100).sum())
        self.padded += attention_mask.numel() + labels.numel()
        self.examples += labels.shape[0]

    def mark(self, update: int) -> None:
        self.marks.append(
            (update, time.perf_counter(), self.tokens, self.padded, self.examples, time.process_time())
        )

    def window(self, warmup: int, updates: int) -> dict:
        at = {m[0]: m for m in self.marks}
        start, end = at[warmup], at[warmup + updates]
        seconds = end[1] - start[1]
        return {
            "updates": updates,
            "seconds": seconds,
            "cpu_seconds": end[5] - start[5],
            "examples": end[4] - start[4],
            "tokens": end[2] - start[2],
            "padded": end[3] - start[3],
        }


def build_data(args):
    from consum.data.factworld import FactworldConfig, generate_corpus
    from consum.models import train_bpe_tokenizer
    from consum.training.common import encode_summaries

    corpus = generate_corpus(FactworldConfig(size="tiny", seed=0))
    rows = [r for split in ("train", "validation", "test") for r in corpus[split]][: args.examples]
    tokenizer = train_bpe_tokenizer(
        (t for r in rows for t in (r["document"], r["summary"])), vocab_size=6000, min_frequency=2
    )
    pairs, _ = encode_summaries(tokenizer, rows, max_source_len=512, max_target_len=128)
    return tokenizer, pairs


def build_model(tokenizer):
    from consum.models import build_tiny_bart

    return build_tiny_bart(
        tokenizer, d_model=128, encoder_layers=2, decoder_layers=2, attention_heads=4, ffn_dim=512, seed=0
    )


class _TimingLogger:
    """Stands in for MetricsLogger: train_loop calls log() after every update when log_every=1."""

    def __init__(self, meter: Meter):
        self.meter = meter

    def log(self, metrics: dict, step: int | None = None) -> None:
        if step is not None and "train/loss" in metrics:
            self.meter.mark(step)

    def close(self) -> None:
        pass


@contextlib.contextmanager
def _quiet_progress():
    """train_loop draws a tqdm bar on rank 0; switch it off for a clean table."""
    import consum.training.loop as loop

    original = loop.tqdm

    def quiet(*args, **kwargs):
        kwargs["disable"] = True
        return original(*args, **kwargs)

    loop.tqdm = quiet
    try:
        yield
    finally:
        loop.tqdm = original


def bench_consum(args, tokenizer, pairs) -> tuple[dict, dict]:
    from consum.io.stage import open_stage
    from consum.training.common import make_accelerator
    from consum.training.loop import train_loop
    from consum.training.mle import mle_micro_step, pair_data

    train_cfg = {
        "max_tokens": args.max_tokens, "max_examples_per_batch": None, "update_freq": 1, "max_epochs": 1000,
        "max_steps": args.warmup + args.updates, "label_smoothing": SMOOTHING, "clip_norm": CLIP,
        "precision": "no", "cpu": True, "log_every": 1, "eval_every": 10**9, "checkpoint_every": 10**9,
        "keep_last_n": 1,
    }
    optim_cfg = {
        "lr": LR, "weight_decay": WEIGHT_DECAY, "betas": list(BETAS), "eps": EPS, "schedule": "constant",
        "warmup_steps": 0, "total_steps": 10**6, "power": 1.0,
    }
    model = build_model(tokenizer)
    meter = Meter()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = {"stage": "bench_train", "run_id": "bench", "run_dir": f"{tmp}/bench", "seed": 1,
               "train": train_cfg, "optim": optim_cfg}
        accelerator = make_accelerator(train_cfg)
        run = open_stage(cfg, accelerator)
        data = pair_data(pairs, train_cfg, tokenizer.pad_token_id)
        step = mle_micro_step(
            SMOOTHING, tokenizer.pad_token_id, model.config.decoder_start_token_id, accelerator.num_processes
        )

        def counted_step(model, batch):
            meter.count(batch["attention_mask"], batch["labels"])
            return step(model, batch)

        meter.mark(0)
        with _quiet_progress():
            train_loop(cfg, run, model, data, counted_step, lambda m: {}, accelerator, _TimingLogger(meter))
    batches = data.batches
    shape = {"micro_batches_per_epoch": len(batches), "mean_examples_per_batch": len(pairs) / len(batches)}
    return meter.window(args.warmup, args.updates), shape


def bench_hf(args, tokenizer, pairs, batch_size: int) -> dict:
    from datasets import Dataset
    from transformers import DataCollatorForSeq2Seq, Seq2SeqTrainer, Seq2SeqTrainingArguments, TrainerCallback

    model = build_model(tokenizer)
    meter = Meter()
    dataset = Dataset.from_list(
        [
            {"input_ids": p.source_ids, "attention_mask": [1] * len(p.source_ids), "labels": p.target_ids}
            for p in pairs
        ]
    )

    class Counting(Seq2SeqTrainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            meter.count(inputs["attention_mask"], inputs["labels"])
            return super().compute_loss(
                model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
            )

    class Timing(TrainerCallback):
        def on_train_begin(self, targs, state, control, **kwargs):
            meter.mark(0)

        def on_step_end(self, targs, state, control, **kwargs):
            meter.mark(state.global_step)

    with tempfile.TemporaryDirectory() as tmp:
        targs = Seq2SeqTrainingArguments(
            output_dir=tmp,
            per_device_train_batch_size=batch_size,
            gradient_accumulation_steps=1,
            max_steps=args.warmup + args.updates,
            learning_rate=LR,
            adam_beta1=BETAS[0],
            adam_beta2=BETAS[1],
            adam_epsilon=EPS,
            weight_decay=WEIGHT_DECAY,
            lr_scheduler_type="constant",
            warmup_steps=0,
            max_grad_norm=CLIP,
            label_smoothing_factor=SMOOTHING,
            eval_strategy="no",
            save_strategy="no",
            logging_strategy="no",
            report_to=[],
            use_cpu=True,
            dataloader_num_workers=0,
            disable_tqdm=True,
            seed=1,
            train_sampling_strategy="group_by_length" if args.hf_group_by_length else "random",
        )
        trainer = Counting(
            model=model,
            args=targs,
            train_dataset=dataset,
            data_collator=DataCollatorForSeq2Seq(tokenizer, model=model, label_pad_token_id=-100),
            processing_class=tokenizer,
            callbacks=[Timing()],
        )
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)  # it prints the final train metrics dict
        trainer.train()
    return meter.window(args.warmup, args.updates)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--examples", type=int, default=300, help="factworld tiny has 300 documents in all splits"
    )
    parser.add_argument("--warmup", type=int, default=5, help="updates run before timing starts")
    parser.add_argument(
        "--updates", type=int, default=72, help="timed updates (72 = two consum epochs of tiny factworld)"
    )
    parser.add_argument(
        "--max-tokens", type=int, default=1024, help="consum's micro-batch token budget (train.max_tokens)"
    )
    parser.add_argument(
        "--hf-batch-size", type=int, default=0, help="0: mean examples per consum micro-batch"
    )
    parser.add_argument(
        "--hf-group-by-length", action="store_true", help="Trainer with a length-grouped sampler"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="alternating runs of each recipe; the best is reported"
    )
    parser.add_argument(
        "--threads", type=int, default=1,
        help="torch threads (0 = torch's default). 1 by default: on a shared 2-core machine two OpenMP "
             "threads competing with other processes ran up to 100x slower per update",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    tokenizer, pairs = build_data(args)
    src = [len(p.source_ids) for p in pairs]
    tgt = [len(p.target_ids) for p in pairs]
    print(f"{len(pairs)} examples: source {min(src)}-{max(src)} tokens (mean {sum(src) / len(src):.0f}), "
          f"target {min(tgt)}-{max(tgt)} (mean {sum(tgt) / len(tgt):.0f}); vocab {len(tokenizer)}; "
          f"torch threads {torch.get_num_threads()}")

    started = time.perf_counter()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs "
          f"(other processes skew CPU timings; runs alternate and the best of {args.repeats} is reported)")
    ours_runs, hf_runs, batch_size = [], [], args.hf_batch_size
    for repeat in range(args.repeats):
        ours, shape = bench_consum(args, tokenizer, pairs)
        ours_runs.append(ours)
        if not batch_size:
            batch_size = max(1, round(shape["mean_examples_per_batch"]))
            print(f"consum: {shape['micro_batches_per_epoch']} micro-batches/epoch "
                  f"at max_tokens={args.max_tokens}, "
                  f"mean {shape['mean_examples_per_batch']:.2f} examples each -> "
                  f"Trainer per_device_train_batch_size="
                  f"{batch_size}{' (group_by_length)' if args.hf_group_by_length else ' (random sampler)'}")
        hf_runs.append(bench_hf(args, tokenizer, pairs, batch_size))
        print(f"repeat {repeat + 1}: consum {tokens_per_s(ours):.0f} tokens/s, "
              f"Seq2SeqTrainer {tokens_per_s(hf_runs[-1]):.0f} tokens/s")

    rows = [
        ("consum train_loop", max(ours_runs, key=tokens_per_s)),
        ("Seq2SeqTrainer", max(hf_runs, key=tokens_per_s)),
    ]
    base = tokens_per_s(rows[1][1])
    print(f"\n{'recipe':<20}| {'updates':>7} | {'examples/s':>10} | {'tokens/s':>9} | {'ratio':>5} | "
          f"{'tokens/CPU-s':>12} | {'CPU ratio':>9} | {'real tok/update':>15} | {'padded tok/update':>17} | "
          f"{'pad share':>9}")
    print("-" * 20 + "|" + "-" * 9 + "|" + "-" * 12 + "|" + "-" * 11 + "|" + "-" * 7 + "|" + "-" * 14 + "|"
          + "-" * 11 + "|" + "-" * 17 + "|" + "-" * 19 + "|" + "-" * 10)
    cpu_base = rows[1][1]["tokens"] / rows[1][1]["cpu_seconds"]
    for name, r in rows:
        tps = tokens_per_s(r)
        cpu_tps = r["tokens"] / r["cpu_seconds"]
        print(f"{name:<20}| {r['updates']:>7} | {r['examples'] / r['seconds']:>10.1f} | {tps:>9.0f} | "
              f"{tps / base:>5.2f} | {cpu_tps:>12.0f} | {cpu_tps / cpu_base:>9.2f} | "
              f"{r['tokens'] / r['updates']:>15.0f} | {r['padded'] / r['updates']:>17.0f} | "
              f"{1 - r['tokens'] / r['padded']:>9.1%}")
    print(f"\ntokens = real (non-pad) source + target tokens; "
          f"ratio = tokens/s relative to Seq2SeqTrainer (wall time); "
          f"tokens/CPU-s = per second of this process's CPU time (all threads), "
          f"less sensitive to other load; "
          f"load average after: {os.getloadavg()[0]:.2f}; "
          f"total wall time {time.perf_counter() - started:.0f} s")


def tokens_per_s(r: dict) -> float:
    return r["tokens"] / r["seconds"]


if __name__ == "__main__":
    main()
