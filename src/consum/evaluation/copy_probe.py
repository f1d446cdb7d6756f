"""Does a model copy by content or by position? Two teacher-forced probes (``scripts/copy_probe.py``).

A mangled copy ("Greta Jensen" for a document's "Greta Ogunleye" and "Zofia Jensen") is a binding
error: the summarizer picks the right kind of word from the document but not the one that *follows*
the word it just wrote. Copying that survives a name standing anywhere in a document needs content:
"the token after the one I just wrote". Copying a source to an identical target does not: output
token *k* can read input token *k* by position. The probes tell the two apart:

- **shuffled-chunk continuation**: the source is a random token string cut into chunks of
  ``chunk_len`` tokens in a random order, the target the string in order (``copy_pairs(chunk_len=)``).
  A chunk's first token cannot be known (the order is random); every later token of a chunk can, by
  content. ``within`` far above ``start`` means content copying; equal means none.
- **surname binding**: teacher-forced on references, the share of full person names (also written in
  full in the document) whose surname's first token is the model's top-1 prediction right after the
  first name, and its mean log-probability.

The counting is pure (:func:`continuation_accuracy`, :func:`surname_token_positions`); :func:`probe`
runs a model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from consum.data.factworld.entities import PERSON, find_mentions


def continuation_accuracy(correct: Sequence[Sequence[bool]], chunk_len: int) -> dict[str, float]:
    """Top-1 accuracy at chunk starts and inside chunks. ``correct[i][k]``: whether target token ``k``
    (``<s>``/``</s>`` excluded, so token 0 starts the first chunk) of string ``i`` was predicted."""
    if chunk_len < 2:
        raise ValueError(f"chunk_len must be >= 2 (a chunk needs a token after its first), got {chunk_len}")
    within, start = [], []
    for row in correct:
        for k, ok in enumerate(row):
            (start if k % chunk_len == 0 else within).append(bool(ok))
    if not within or not start:
        raise ValueError("no tokens to count: pass strings longer than one chunk")
    return {"within": float(np.mean(within)), "start": float(np.mean(start))}


def surname_token_positions(
    reference: str, document: str, offsets: Sequence[tuple[int, int]]
) -> list[int]:
    """Token indices (into the reference's tokens, whose character ``offsets`` are given) of the first
    token of each surname of a full person name in ``reference`` that ``document`` also writes in full.

    The first token is the one whose span covers the surname's first character (with byte-level BPE
    it also holds the space before it).
    """
    in_document = {
        m.key for m in find_mentions(document) if m.entity_type == PERSON and m.name_part == "full"
    }
    positions = []
    for mention in find_mentions(reference):
        if mention.entity_type != PERSON or mention.name_part != "full" or mention.key not in in_document:
            continue
        first, _, _ = mention.surface.rpartition(" ")
        if not first:
            continue
        surname_start = mention.span[0] + len(first) + 1
        for index, (a, b) in enumerate(offsets):
            if a <= surname_start < b:
                positions.append(index)
                break
    return positions


def probe(model, tokenizer, rows: Sequence[Mapping], *, n_strings: int = 64, length: int = 40,
          chunk_len: int = 3, max_source_len: int = 320, seed: int = 1) -> dict[str, float]:
    """Both probes for one model: ``rows`` are factworld rows (``document``, ``summary``)."""
    import torch

    from consum.training.common import decoder_inputs
    from consum.training.pretrain import copy_pairs

    model.eval()
    start_id = model.config.decoder_start_token_id
    random_tokens = (len(tokenizer.all_special_ids), len(tokenizer))
    pairs = copy_pairs(n_strings, length, random_tokens, seed=seed, bos=tokenizer.bos_token_id,
                       eos=tokenizer.eos_token_id, key_prefix="probe", chunk_len=chunk_len)
    with torch.no_grad():
        source = torch.tensor([p.source_ids for p in pairs])
        labels = torch.tensor([p.target_ids for p in pairs])
        logits = model(input_ids=source, decoder_input_ids=decoder_inputs(labels, tokenizer.pad_token_id,
                                                                          start_id)).logits
        correct = (logits.argmax(-1) == labels)[:, 1:-1].tolist()  # the string, without <s> and </s>
        result = {f"chunk_{k}": v for k, v in continuation_accuracy(correct, chunk_len).items()}
        hits, log_probs = [], []
        for row in rows:
            encoded = tokenizer(row["summary"], return_offsets_mapping=True)
            positions = surname_token_positions(row["summary"], row["document"], encoded["offset_mapping"])
            if not positions:
                continue
            source = tokenizer(row["document"], return_tensors="pt", truncation=True,
                               max_length=max_source_len)
            labels = torch.tensor([encoded["input_ids"]])
            log_p = model(**source, decoder_input_ids=decoder_inputs(labels, tokenizer.pad_token_id, start_id)
                          ).logits[0].log_softmax(-1)
            for k in positions:
                hits.append(int(log_p[k].argmax()) == encoded["input_ids"][k])
                log_probs.append(float(log_p[k, encoded["input_ids"][k]]))
    result.update({"surname_top1": float(np.mean(hits)) if hits else float("nan"),
                   "surname_log_prob": float(np.mean(log_probs)) if log_probs else float("nan"),
                   "n_surnames": len(hits)})
    return result
