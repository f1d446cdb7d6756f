"""ContrastCollator tensors written out literally, and group_batches packing."""

import pytest
import torch

from consum.contrast.collator import ContrastCollator, group_batches
from consum.losses import compute_loss

PAD, EOS = 1, 2

# Document A: 1 positive + 2 negatives; document B: 1 positive + 1 negative.
EXAMPLES = [
    {
        "doc_id": "A",
        "input_ids": [0, 10, 11, 12, EOS],
        "targets": [
            {"ids": [0, 20, EOS], "role": "pos", "cand_id": "ref"},
            {"ids": [0, 21, 22, 23, EOS], "role": "neg", "cand_id": "s3"},
            {"ids": [0, 24, EOS], "role": "neg", "cand_id": "s5"},
        ],
    },
    {
        "doc_id": "B",
        "input_ids": [0, 13, EOS],
        "targets": [
            {"ids": [0, 25, 26, EOS], "role": "pos", "cand_id": "ref"},
            {"ids": [0, EOS], "role": "neg", "cand_id": "s0"},
        ],
    },
]


def test_two_documents_with_uneven_candidate_counts():
    batch = ContrastCollator(pad_token_id=PAD)(EXAMPLES)
    torch.testing.assert_close(
        batch["input_ids"],
        torch.tensor(
            [
                [0, 10, 11, 12, 2],
                [0, 10, 11, 12, 2],
                [0, 10, 11, 12, 2],
                [0, 13, 2, 1, 1],
                [0, 13, 2, 1, 1],
            ]
        ),
    )
    torch.testing.assert_close(
        batch["attention_mask"],
        torch.tensor(
            [
                [1, 1, 1, 1, 1],
                [1, 1, 1, 1, 1],
                [1, 1, 1, 1, 1],
                [1, 1, 1, 0, 0],
                [1, 1, 1, 0, 0],
            ]
        ),
    )
    torch.testing.assert_close(
        batch["labels"],
        torch.tensor(
            [
                [0, 20, 2, -100, -100],
                [0, 21, 22, 23, 2],
                [0, 24, 2, -100, -100],
                [0, 25, 26, 2, -100],
                [0, 2, -100, -100, -100],
            ]
        ),
    )
    torch.testing.assert_close(batch["is_positive"], torch.tensor([True, False, False, True, False]))
    torch.testing.assert_close(batch["group_ids"], torch.tensor([0, 0, 0, 1, 1]))
    assert batch["doc_ids"] == ["A", "A", "A", "B", "B"]
    assert batch["cand_ids"] == ["ref", "s3", "s5", "ref", "s0"]
    assert "source_index" not in batch


def test_compact_variant_keeps_one_source_per_document():
    batch = ContrastCollator(pad_token_id=PAD, repeat_source=False)(EXAMPLES)
    torch.testing.assert_close(batch["input_ids"], torch.tensor([[0, 10, 11, 12, 2], [0, 13, 2, 1, 1]]))
    torch.testing.assert_close(batch["attention_mask"], torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]))
    torch.testing.assert_close(batch["source_index"], torch.tensor([0, 0, 0, 1, 1]))
    full = ContrastCollator(pad_token_id=PAD)(EXAMPLES)
    torch.testing.assert_close(batch["input_ids"][batch["source_index"]], full["input_ids"])
    torch.testing.assert_close(batch["labels"], full["labels"])


def test_truncation_keeps_the_first_tokens_and_optionally_eos():
    collator = ContrastCollator(pad_token_id=PAD, max_source_len=3, max_target_len=4, eos_token_id=EOS)
    batch = collator(EXAMPLES[:1])
    torch.testing.assert_close(batch["input_ids"][0], torch.tensor([0, 10, 2]))
    torch.testing.assert_close(batch["labels"][1], torch.tensor([0, 21, 22, 2]))
    batch = ContrastCollator(pad_token_id=PAD, max_source_len=3)(EXAMPLES[:1])
    torch.testing.assert_close(batch["input_ids"][0], torch.tensor([0, 10, 11]))


def test_reference_logprobs_follow_the_rows_by_key():
    reference = {("B", "s0"): -5.0, ("A", "ref"): -1.0, ("A", "s3"): -2.0, ("A", "s5"): -3.0,
                 ("B", "ref"): -4.0}
    batch = ContrastCollator(pad_token_id=PAD, reference_logprobs=reference)(EXAMPLES[::-1])
    assert list(zip(batch["doc_ids"], batch["cand_ids"])) == [("B", "ref"), ("B", "s0"), ("A", "ref"),
                                                              ("A", "s3"), ("A", "s5")]
    torch.testing.assert_close(batch["reference_logprobs"], torch.tensor([-4.0, -5.0, -1.0, -2.0, -3.0]))
    assert "reference_logprobs" not in ContrastCollator(pad_token_id=PAD)(EXAMPLES)
    del reference[("A", "s5")]
    with pytest.raises(KeyError, match=r"\('A', 's5'\)"):
        ContrastCollator(pad_token_id=PAD, reference_logprobs=reference)(EXAMPLES)


def test_output_feeds_every_loss():
    batch = ContrastCollator(pad_token_id=PAD)(EXAMPLES)
    logits = torch.randn(*batch["labels"].shape, 30, generator=torch.Generator().manual_seed(0))
    output = compute_loss("margin_rank", logits, batch["labels"], batch["is_positive"], batch["group_ids"])
    assert output.parts["n_pairs"].item() == 3  # A: ref x (s3, s5); B: ref x s0


@pytest.mark.parametrize(
    ("examples", "message"),
    [
        ([], "empty list"),
        ([{"doc_id": "A", "input_ids": [0, 2], "targets": []}], "no targets"),
        ([{"doc_id": "A", "input_ids": [], "targets": EXAMPLES[0]["targets"]}], "input_ids is empty"),
        (
            [{"doc_id": "A", "input_ids": [0], "targets": [{"ids": [], "role": "pos", "cand_id": "ref"}]}],
            "target 'ref' is empty",
        ),
        (
            [
                {
                    "doc_id": "A",
                    "input_ids": [0],
                    "targets": [{"ids": [3], "role": "positive", "cand_id": "ref"}],
                }
            ],
            "role must be",
        ),
    ],
)
def test_malformed_examples_are_rejected(examples, message):
    with pytest.raises(ValueError, match=message):
        ContrastCollator(pad_token_id=PAD)(examples)


GROUPS = [(10, [3, 5]), (4, [2]), (9, [6]), (30, [4, 4, 4]), (4, [2, 2]), (8, [8]), (12, [1, 1, 1])]


def batch_cost(batch):
    rows = sum(len(GROUPS[index][1]) for index in batch)
    return rows * (max(GROUPS[index][0] for index in batch) + max(max(GROUPS[index][1]) for index in batch))


def test_group_batches_without_seed_packs_by_length():
    # Sorted by (source, longest target): 1, 4, 5, 2, 0, 6, 3. Costs: [1, 4] = 3 x 6 = 18,
    # + 5 -> 4 x 16 = 64 > 40; [5, 2] = 2 x 15 = 30, + 0 -> 4 x 16 = 64; [0] = 30, + 6 -> 5 x 17 = 85;
    # [6] = 3 x 13 = 39; [3] = 102 alone (over budget, never split).
    assert group_batches(GROUPS, max_tokens=40) == [[1, 4], [5, 2], [0], [6], [3]]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_group_batches_with_seed_is_deterministic_and_complete(seed):
    batches = group_batches(GROUPS, max_tokens=40, shuffle_seed=seed)
    assert batches == group_batches(GROUPS, max_tokens=40, shuffle_seed=seed)
    assert sorted(index for batch in batches for index in batch) == list(range(len(GROUPS)))
    assert all(batch_cost(batch) <= 40 or len(batch) == 1 for batch in batches)


def test_group_batches_seed_changes_the_order():
    orders = {tuple(map(tuple, group_batches(GROUPS, max_tokens=40, shuffle_seed=seed))) for seed in range(5)}
    assert len(orders) > 1


def test_group_batches_rejects_bad_input():
    with pytest.raises(ValueError, match="max_tokens"):
        group_batches(GROUPS, max_tokens=0)
    with pytest.raises(ValueError, match="group 1 has no targets"):
        group_batches([(3, [2]), (3, [])], max_tokens=10)


# ---- span_mask (loss=span_unlikelihood) ----------------------------------------------------------

POS_TEXT = "Team Alpha beat team Beta 3-1 in Paris on Sunday, and Ana Silva scored twice."
NEG_TEXT = "Team Alpha beat team Beta 3-1 in Lyon on Sunday, and Ben Okafor scored in Lyon."


def span_examples(tokenizer, max_length=64, spans=None):
    from consum.contrast.spans import locate_answer_spans, tokenize_with_span_masks

    if spans is None:
        spans, _ = locate_answer_spans(NEG_TEXT, [" Lyon"])
    ids, masks = tokenize_with_span_masks(tokenizer, [POS_TEXT, NEG_TEXT], [None, spans], max_length)
    return [{"doc_id": "A", "input_ids": [0, 10, EOS], "targets": [
        {"ids": ids[0], "role": "pos", "cand_id": "ref"},
        {"ids": ids[1], "role": "neg", "cand_id": "s1", "span_mask": masks[1]},
    ]}]


def test_span_mask_is_aligned_with_the_labels(tiny_tokenizer_dir):
    from consum.models import load_tokenizer

    tokenizer = load_tokenizer(tiny_tokenizer_dir)
    examples = span_examples(tokenizer)
    plain = tokenizer([POS_TEXT, NEG_TEXT], truncation=True, max_length=64)["input_ids"]
    assert [t["ids"] for t in examples[0]["targets"]] == plain  # the labels the collator made before
    batch = ContrastCollator(pad_token_id=PAD, with_span_mask=True)(examples)
    labels, span_mask = batch["labels"], batch["span_mask"]
    assert span_mask.dtype == torch.bool and span_mask.shape == labels.shape
    assert labels[1, 0].item() == tokenizer.bos_token_id and tokenizer.eos_token_id in labels[1].tolist()
    assert not span_mask[0].any()  # the positive
    marked = labels[1][span_mask[1]].tolist()
    assert tokenizer.decode(marked).split() == ["Lyon", "Lyon"]  # both occurrences, nothing else
    assert not span_mask[1][labels[1] == tokenizer.eos_token_id].any() and not span_mask[1, 0]
    assert batch["n_span_fallback"] == 0
    torch.testing.assert_close(labels, ContrastCollator(pad_token_id=PAD)(examples)["labels"])


def test_a_negative_without_span_tokens_falls_back_to_the_whole_summary(tiny_tokenizer_dir):
    from consum.models import load_tokenizer

    tokenizer = load_tokenizer(tiny_tokenizer_dir)
    collator = ContrastCollator(pad_token_id=PAD, with_span_mask=True)
    no_span = span_examples(tokenizer, spans=[])  # span not found in select_contrast
    truncated = span_examples(tokenizer, max_length=6)  # "Lyon" is cut off by truncation
    no_mask = span_examples(tokenizer)
    del no_mask[0]["targets"][1]["span_mask"]
    for examples in (no_span, truncated, no_mask):
        batch = collator(examples)
        real = batch["labels"][1] != -100
        assert batch["n_span_fallback"] == 1
        torch.testing.assert_close(batch["span_mask"][1], real)  # every real token, no padding
        assert not batch["span_mask"][0].any()
    two_docs = collator(no_span + span_examples(tokenizer))
    assert two_docs["n_span_fallback"] == 1
    assert two_docs["span_mask"][3].sum() < (two_docs["labels"][3] != -100).sum()


def test_span_mask_follows_the_collator_truncation():
    examples = [{"doc_id": "A", "input_ids": [0, 10, EOS], "targets": [
        {"ids": [0, 21, 22, 23, EOS], "role": "neg", "cand_id": "s1",
         "span_mask": [False, False, False, True, False]},
        {"ids": [0, 21, 22, 23, EOS], "role": "neg", "cand_id": "s2",
         "span_mask": [False, True, False, False, False]},
    ]}]
    collator = ContrastCollator(pad_token_id=PAD, max_target_len=4, eos_token_id=EOS, with_span_mask=True)
    batch = collator(examples)
    # s1: its span token (23) became EOS: no span token left, so the whole (truncated) summary
    assert batch["span_mask"].tolist() == [[True] * 4, [False, True, False, False]]
    assert batch["n_span_fallback"] == 1
    examples[0]["targets"][0]["span_mask"] = [True]
    with pytest.raises(ValueError, match="span_mask has 1 entries for 5 ids"):
        collator(examples)
    assert "span_mask" not in ContrastCollator(pad_token_id=PAD)(EXAMPLES)
