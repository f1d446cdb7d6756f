"""QA-generation (QAGen) training data: SQuAD v1.1, NewsQA, factworld -> (context, question, answer) examples.

QAGen learns p(question ⊕ SEP ⊕ answer | context) (spec §1.1). Every distinct answer of a question
is its own example. The target is ``question tokens + [SEP] + answer tokens + </s>`` with no
``<s>``, as in the original; :func:`encode_qa_target` is the one place that builds it, shared by
training and by QUALS scoring.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from consum.data.schema import DataError

QA_FIELDS = ("qa_id", "context", "question", "answer")
DEFAULT_SEPARATOR = "<sep>"


def encode_qa_target(tokenizer, question: str, answer: str, sep_id: int) -> list[int]:
    """``q ⊕ SEP ⊕ a ⊕ </s>``: question and answer BPE-encoded separately, no <s> (spec §1.1)."""
    q_ids = tokenizer(question, add_special_tokens=False)["input_ids"]
    a_ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
    return [*q_ids, sep_id, *a_ids, tokenizer.eos_token_id]


def encode_answer_conditioned_source(
    tokenizer, answer: str, context_ids: list[int], sep_id: int, max_len: int
) -> list[int]:
    """``<s> a ⊕ SEP ⊕ context </s>``: the encoder input that asks QAGen for a question about ``answer``.

    ``context_ids`` is the context as the tokenizer encodes it (``<s> ... </s>``, or ``... </s>`` for a
    tokenizer without a start token, such as T5's); the context is cut
    so the whole input fits ``max_len`` (its ``</s>`` kept). The target stays ``q ⊕ SEP ⊕ a ⊕ </s>``
    (:func:`encode_qa_target`), so one model serves both QUALS modes: plain contexts (the original's
    question-first generation) and answer-conditioned ones (``quals.answers=spans``, as QAGS asks a
    question about every answer span it extracts, here without a second model).

    >>> class Tok:  # a tokenizer whose every word is one token, id = its length
    ...     bos_token_id, eos_token_id = 0, 2
    ...     def __call__(self, text, add_special_tokens=True):
    ...         return {"input_ids": [len(w) for w in text.split()]}
    >>> encode_answer_conditioned_source(Tok(), "forty", [0, 7, 8, 9, 2], sep_id=99, max_len=6)
    [0, 5, 99, 7, 8, 2]
    """
    a_ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
    bos = [] if tokenizer.bos_token_id is None else [tokenizer.bos_token_id]  # T5 starts with no <s>
    body = context_ids[1:-1] if bos and context_ids and context_ids[0] == bos[0] else context_ids[:-1]
    room = max(max_len - len(bos) - len(a_ids) - 2, 0)  # <s>, SEP, </s>
    return [*bos, *a_ids, sep_id, *body[:room], tokenizer.eos_token_id]


def load_qa_json(path: str | Path) -> dict:
    """Read a SQuAD or NewsQA json file; a missing file, bad UTF-8 or malformed JSON is a
    :class:`DataError` naming the file (and the line, for JSON)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"QA file {path} does not exist")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not valid UTF-8 ({e.reason})") from None
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: malformed JSON ({e.msg} at line {e.lineno})") from None


def _distinct(texts: Iterable[str]) -> list[str]:
    seen, out = set(), []
    for text in texts:
        if text not in seen:  # exact string dedup, as the original
            seen.add(text)
            out.append(text)
    return out


def squad_examples_from_json(data: Mapping, origin: str, answers: str = "all") -> list[dict]:
    """SQuAD v1.1 json: one example per distinct answer text of each question (``answers="all"``, the
    original's rule) or per question with its first answer (``"first"``: SQuAD dev lists up to five
    answers per question, mostly the same span cut differently). Each example keeps its article's
    title and, where the file gives it, the answer's character offset."""
    if "data" not in data:
        raise DataError(f"{origin}: not SQuAD json (no 'data' key)")
    if answers not in ("all", "first"):
        raise DataError(f"qagen_data.answers must be 'all' or 'first', got {answers!r}")
    examples = []
    for article in data["data"]:
        for paragraph in article.get("paragraphs", []):
            context = paragraph["context"]
            for qa in paragraph.get("qas", []):
                given = qa.get("answers", [])[: 1 if answers == "first" else None]
                starts = {}
                for a in given:
                    starts.setdefault(a["text"], a.get("answer_start"))
                for k, answer in enumerate(_distinct(a["text"] for a in given)):
                    examples.append({
                        "qa_id": f"{qa['id']}-{k}", "context": context, "question": qa["question"],
                        "answer": answer, "answer_start": starts[answer], "article": article.get("title"),
                        **({} if starts[answer] is None else {"answer_end": starts[answer] + len(answer)}),
                    })
    return examples


def split_articles(examples: list[dict], n_held_out: int, seed: int) -> tuple[list[dict], list[dict]]:
    """(rest, held out): ``n_held_out`` whole articles, chosen by a seeded hash of their titles, so that
    validation questions come from articles no training question saw."""
    titles = sorted({e["article"] for e in examples})
    if n_held_out >= len(titles):
        raise DataError(f"cannot hold out {n_held_out} articles of {len(titles)}")
    held = set(sorted(titles, key=lambda t: _seeded_hash(seed, t))[:n_held_out])
    return [e for e in examples if e["article"] not in held], [e for e in examples if e["article"] in held]


def _seeded_hash(seed: int, key: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}\x1f{key}".encode()).digest()[:8], "big")


# a sentence ends at . ! ? before a space and a capital, a digit or an opening quote or bracket
_SENTENCE_END = re.compile(r"(?<=[.!?])([\"')\]]?)\s+(?=[A-Z0-9\"'(\[])")
CONTEXT_MODES = ("paragraph", "sentence", "window")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text`` (a regex split, good enough for Wikipedia).

    >>> sentence_spans('It rained. Then 3 cats came! "Fine." Go.')
    [(0, 10), (11, 28), (29, 36), (37, 40)]
    """
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.start() + len(match.group(1))))
        start = match.end()
    spans.append((start, len(text)))
    return spans


def answer_context(context: str, answer: str, answer_start: int | None, mode: str) -> tuple[int, int]:
    """The character span of ``context`` a QA example is trained on: the whole paragraph, the
    sentence(s) holding the answer, or those with one sentence either side (``window``). The
    paragraph when the answer cannot be placed.

    >>> text = "Ann was born in Paris. She moved to Rome in 1990. She died there."
    >>> start, end = answer_context(text, "1990", text.index("1990"), "sentence")
    >>> text[start:end]
    'She moved to Rome in 1990.'
    >>> start, end = answer_context(text, "Paris", None, "window")
    >>> text[start:end]
    'Ann was born in Paris. She moved to Rome in 1990.'
    """
    if mode not in CONTEXT_MODES:
        raise DataError(f"qagen_data.context modes are {', '.join(CONTEXT_MODES)}; got {mode!r}")
    if answer_start is None or context[answer_start : answer_start + len(answer)] != answer:
        answer_start = context.find(answer)
    if mode == "paragraph" or answer_start < 0:
        return 0, len(context)
    end = answer_start + len(answer)
    spans = sentence_spans(context)
    first = next(i for i, (_, stop) in enumerate(spans) if answer_start < stop or i == len(spans) - 1)
    last = next(i for i in range(first, len(spans)) if end <= spans[i][1] or i == len(spans) - 1)
    if mode == "window":
        first, last = max(first - 1, 0), min(last + 1, len(spans) - 1)
    return spans[first][0], spans[last][1]


def with_training_contexts(examples: list[dict], shares: Mapping[str, float], seed: int) -> list[dict]:
    """Each example's context cut as one of ``CONTEXT_MODES``, chosen by a seeded hash of its
    ``qa_id`` with the given shares (``{"sentence": 0.4, "window": 0.3, "paragraph": 0.3}``): short
    contexts train faster and teach a fresh cross-attention where to read; paragraphs keep long
    inputs (the documents QUALS scores against) in the training distribution."""
    modes = [(m, float(w)) for m, w in shares.items() if float(w) > 0]
    total = sum(w for _, w in modes)
    if not modes or any(m not in CONTEXT_MODES for m, _ in modes):
        raise DataError(f"qagen_data.context needs shares of {', '.join(CONTEXT_MODES)}; got {dict(shares)}")
    out = []
    for e in examples:
        u = _seeded_hash(seed, f"context\x1f{e['qa_id']}") / 2**64 * total
        mode = next((m for m, w in _cumulative(modes) if u < w), modes[-1][0])
        start, end = answer_context(e["context"], e["answer"], e.get("answer_start"), mode)
        cut = {"context": e["context"][start:end], "context_mode": mode}
        if e.get("answer_start") is not None and start <= e["answer_start"] < end:
            cut["answer_start"] = e["answer_start"] - start
            cut["answer_end"] = cut["answer_start"] + len(e["answer"])
        out.append({**e, **cut})
    return out


def _cumulative(modes: list[tuple[str, float]]) -> list[tuple[str, float]]:
    acc, out = 0.0, []
    for mode, weight in modes:
        acc += weight
        out.append((mode, acc))
    return out


def squad_examples_from_hub(path: str = "rajpurkar/squad", split: str = "train") -> list[dict]:
    import datasets

    ds = datasets.load_dataset(path, split=split)
    examples = []
    for row in ds:
        for k, answer in enumerate(_distinct(row["answers"]["text"])):
            examples.append({
                "qa_id": f"{row['id']}-{k}", "context": row["context"], "question": row["question"],
                "answer": answer,
            })
    return examples


def newsqa_examples(data: Mapping, origin: str, split: str) -> list[dict]:
    """NewsQA combined json (spec §1.1): consensus spans only (badQuestion / noAnswer dropped).

    ``split``: train -> stories of type train, validation -> dev, test -> test.
    """
    story_type = {"train": "train", "validation": "dev", "test": "test"}[split]
    if "data" not in data:
        raise DataError(f"{origin}: not NewsQA combined json (no 'data' key)")
    examples = []
    for story in data["data"]:
        if story.get("type") != story_type:
            continue
        raw_text = story["text"]
        context = raw_text.strip()
        shift = len(raw_text) - len(raw_text.lstrip())
        for qi, question in enumerate(story.get("questions", [])):
            consensus = question.get("consensus") or {}
            if "s" not in consensus:
                continue
            start, end = consensus["s"], consensus["e"]
            answer = raw_text[start:end].strip()
            examples.append(
                {
                    "qa_id": f"{story['storyId']}-{qi}",
                    "context": context,
                    "question": question["q"],
                    "answer": answer,
                    "answer_end": end - shift,  # for the "answer fell outside the truncated context" check
                }
            )
    return examples


def factworld_examples(records: Iterable[Mapping]) -> list[dict]:
    return [
        {"qa_id": r["qa_id"], "context": r["context"], "question": r["question"], "answer": r["answer"]}
        for r in records
    ]


def check_examples(examples: list[dict], origin: str) -> None:
    for i, ex in enumerate(examples):
        for field in ("context", "question", "answer"):
            if not isinstance(ex.get(field), str):
                raise DataError(f"{origin}: QA example {i} has no string field {field!r}")
        if not ex["context"].strip() or not ex["question"].strip():
            raise DataError(f"{origin}: QA example {ex.get('qa_id', i)} has an empty context or question")
