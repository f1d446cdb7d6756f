"""QA-generation (QAGen) training data: SQuAD v1.1, NewsQA, factworld -> (context, question, answer) examples.

QAGen learns p(question ⊕ SEP ⊕ answer | context) (spec §1.1). Every distinct answer of a question
is its own example. The target is ``question tokens + [SEP] + answer tokens + </s>`` with no
``<s>``, as in the original; :func:`encode_qa_target` is the one place that builds it, shared by
training and by QUALS scoring.
"""

from __future__ import annotations

import json
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

    ``context_ids`` is the context as the tokenizer encodes it (``<s> ... </s>``); the context is cut
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
    body = context_ids[1:-1] if context_ids and context_ids[0] == tokenizer.bos_token_id else context_ids[:-1]
    room = max(max_len - len(a_ids) - 3, 0)  # <s>, SEP, </s>
    return [tokenizer.bos_token_id, *a_ids, sep_id, *body[:room], tokenizer.eos_token_id]


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


def squad_examples_from_json(data: Mapping, origin: str) -> list[dict]:
    """SQuAD v1.1 json: one example per distinct answer text of each question."""
    if "data" not in data:
        raise DataError(f"{origin}: not SQuAD json (no 'data' key)")
    examples = []
    for article in data["data"]:
        for paragraph in article.get("paragraphs", []):
            context = paragraph["context"]
            for qa in paragraph.get("qas", []):
                for k, answer in enumerate(_distinct(a["text"] for a in qa.get("answers", []))):
                    examples.append({
                        "qa_id": f"{qa['id']}-{k}", "context": context, "question": qa["question"],
                        "answer": answer,
                    })
    return examples


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
