"""Binding pairs (training/binding.py) on hand-built documents, and the loss mask they rely on."""

import json

import pytest
import torch

from consum.training.binding import BindingCase, binding_cases, binding_pairs
from consum.training.common import EncodedPair, collate_pairs, decoder_inputs
from consum.training.mle import batch_loss, pair_data


def facts(*entities):
    return {"entities": [{"type": t, "value": v, "role": f"r{i}"} for i, (t, v) in enumerate(entities)]}


ELECTION = facts(("PERSON", "Greta Ogunleye"), ("PERSON", "Zofia Jensen"), ("GPE", "Kyoto"),
                 ("ORG", "Modern Left"), ("ORG", "Federal Party"))


def test_cases_swap_in_another_name_of_the_same_type():
    reference = "Greta Ogunleye won in Kyoto for the Modern Left."
    assert binding_cases(reference, ELECTION) == [
        BindingCase("Zofia", " Jensen"),
        BindingCase("Greta Ogunleye won in Kyoto for the Federal", " Party"),
    ]
    as_json = json.dumps(ELECTION)
    assert binding_cases(reference, as_json, types=("PERSON",)) == [BindingCase("Zofia", " Jensen")]


def test_cases_need_the_whole_name_in_the_reference_and_a_telling_first_word():
    # a surname alone is not the name; single-word names and other types give nothing
    assert binding_cases("Ogunleye won in Kyoto.", ELECTION) == []
    assert binding_cases("Greta Ogunleyev won.", ELECTION) == []
    shared = facts(("ORG", "Kelso United"), ("ORG", "Kelso Rovers"), ("ORG", "Penrith Albion"),
                   ("PERSON", "Greta Ogunleye"), ("PERSON", "Greta Jensen"))
    # "Kelso ..." does not tell which Kelso; the same first name as the reference's person tells nothing
    assert binding_cases("Penrith Albion beat Kelso United.", shared) == [
        BindingCase("Penrith Albion beat Penrith", " Albion")
    ]
    assert binding_cases("Greta Ogunleye scored.", shared) == []


def test_cases_from_each_referenced_name():
    doc = facts(("PERSON", "Ana Silva"), ("PERSON", "Ben Okafor"), ("PERSON", "Chen Wei"))
    cases = binding_cases("Ana Silva beat Ben Okafor.", doc)
    assert cases == [BindingCase("Ben", " Okafor"), BindingCase("Chen", " Wei"),
                     BindingCase("Ana Silva beat Ana", " Silva"), BindingCase("Ana Silva beat Chen", " Wei")]


@pytest.fixture
def tokenizer(tiny_tokenizer_dir):
    from consum.models import load_tokenizer

    return load_tokenizer(tiny_tokenizer_dir)


def rows_and_sources(tokenizer):
    docs = [("d0", "Ana Silva scored for Alpha Team. Ben Okafor scored for Beta Team.", "Ana Silva scored.",
             facts(("PERSON", "Ana Silva"), ("PERSON", "Ben Okafor"))),
            ("d1", "Chen Wei won in Rome.", "Chen Wei won.", facts(("PERSON", "Chen Wei")))]
    rows = [{"doc_id": k, "document": d, "summary": s, "doc_facts": json.dumps(f)} for k, d, s, f in docs]
    sources = [EncodedPair(r["doc_id"], tokenizer(r["document"])["input_ids"],
                           tokenizer(r["summary"])["input_ids"]) for r in rows]
    return rows, sources


def test_pairs_learn_only_the_rest_of_the_other_name(tokenizer):
    rows, sources = rows_and_sources(tokenizer)
    pairs = binding_pairs(tokenizer, rows, sources, share=1.0, seed=0)
    assert [p.key for p in pairs] == ["d0-binding"]  # d1 has one person: no case
    (pair,) = pairs
    assert pair.source_ids == sources[0].source_ids
    assert tokenizer.decode(pair.target_ids, skip_special_tokens=True) == "Ben Okafor"
    assert tokenizer.decode(pair.target_ids[pair.loss_from:]) == " Okafor"
    assert pair.target_ids[0] == tokenizer.bos_token_id and tokenizer.eos_token_id not in pair.target_ids
    assert binding_pairs(tokenizer, rows, sources, share=0.0, seed=0) == []
    # deterministic per row
    assert binding_pairs(tokenizer, rows, sources, share=1.0, seed=0) == pairs


def test_pairs_per_document_draws_distinct_cases(tokenizer):
    rows, sources = rows_and_sources(tokenizer)
    rows[0]["doc_facts"] = json.dumps(facts(("PERSON", "Ana Silva"), ("PERSON", "Ben Okafor"),
                                            ("PERSON", "Chen Wei"), ("PERSON", "Dara Quinn")))
    pairs = binding_pairs(tokenizer, rows, sources, share=1.0, seed=0, per_document=2)
    assert [p.key for p in pairs] == ["d0-binding", "d0-binding-1"]
    rests = {tokenizer.decode(p.target_ids[p.loss_from:]) for p in pairs}
    assert len(rests) == 2 and rests <= {" Okafor", " Wei", " Quinn"}
    everything = binding_pairs(tokenizer, rows, sources, share=1.0, seed=0, per_document=10)
    assert {tokenizer.decode(p.target_ids[p.loss_from:]) for p in everything} == {" Okafor", " Wei", " Quinn"}


def test_pairs_reject_bad_input(tokenizer):
    rows, sources = rows_and_sources(tokenizer)
    with pytest.raises(ValueError, match="per_document"):
        binding_pairs(tokenizer, rows, sources, share=1.0, seed=0, per_document=0)
    with pytest.raises(ValueError, match="share"):
        binding_pairs(tokenizer, rows, sources, share=1.5, seed=0)
    with pytest.raises(ValueError, match="source pairs"):
        binding_pairs(tokenizer, rows, sources[:1], share=1.0, seed=0)
    with pytest.raises(ValueError, match="doc_facts"):
        binding_pairs(tokenizer, [{**rows[0], "doc_facts": None}, rows[1]], sources, share=1.0, seed=0)
    with pytest.raises(ValueError, match="is not row"):
        binding_pairs(tokenizer, rows, sources[::-1], share=1.0, seed=0)


def test_collate_masks_labels_before_loss_from_but_feeds_the_whole_target():
    pairs = [EncodedPair("a", [5, 6, 2], [0, 7, 8, 9], loss_from=3), EncodedPair("b", [5, 2], [0, 7, 2])]
    batch = collate_pairs(pairs, pad_token_id=1)
    assert batch["labels"].tolist() == [[-100, -100, -100, 9], [0, 7, 2, -100]]
    assert batch["decoder_targets"].tolist() == [[0, 7, 8, 9], [0, 7, 2, -100]]
    assert decoder_inputs(batch["decoder_targets"], 1, 2).tolist() == [[2, 0, 7, 8], [2, 0, 7, 2]]
    # without a loss_from the batch is as before
    assert "decoder_targets" not in collate_pairs(pairs[1:], pad_token_id=1)
    # the update's token count is the counted labels
    data = pair_data(pairs, {"max_tokens": 100}, pad_id=1)
    assert data.target_tokens == [1, 3]


def test_batch_loss_counts_and_conditions_on_the_unmasked_prefix(tiny_model_dir):
    from transformers import AutoModelForSeq2SeqLM

    model = AutoModelForSeq2SeqLM.from_pretrained(tiny_model_dir).eval()
    start, pad = model.config.decoder_start_token_id, model.config.pad_token_id
    full = EncodedPair("a", [5, 6, 7, 2], [0, 8, 9, 10])
    masked = EncodedPair("a", [5, 6, 7, 2], [0, 8, 9, 10], loss_from=3)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([full.source_ids]),
                       decoder_input_ids=decoder_inputs(torch.tensor([full.target_ids]), pad, start)).logits
        expected = -torch.log_softmax(logits[0, 3], -1)[10]
        _, nll, ntok = batch_loss(model, collate_pairs([masked], pad), 0.0, pad, start)
    assert int(ntok) == 1
    assert torch.allclose(nll, expected)
