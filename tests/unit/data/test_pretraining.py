"""The pretraining corpus: disjoint from every split prepare-data makes, covering the whole lexicons;
and the denoising pairs built from it."""

import re

import numpy as np
import pytest

from consum.data.factworld import FactworldConfig, generate_corpus, heldout_names, lexicons
from consum.data.factworld.generator import PRETRAIN_STREAMS, generate_pretraining_documents
from consum.data.noising import NoisingConfig
from consum.data.pretraining import fit_sentences, load_corpus, split_sentences, tokenize_sentences
from consum.data.schema import DataError
from consum.models import train_bpe_tokenizer
from consum.training.pretrain import copy_pairs, denoising_pairs


@pytest.fixture(scope="module")
def stream():
    return generate_pretraining_documents(0, "pretrain", 1500)


def test_no_pretraining_document_is_a_document_of_any_split_of_any_seed(stream):
    for seed in (0, 1):
        corpus = generate_corpus(
            FactworldConfig(size="tiny", seed=seed, n_train=1500, n_valid=300, n_test=300)
        )
        split_documents = {row["document"] for rows in corpus.values() for row in rows}
        assert not split_documents & set(stream)
    assert not set(generate_pretraining_documents(0, "pretrain_validation", 300)) & set(stream)
    assert len(set(stream)) == len(stream)


@pytest.mark.parametrize("world", ["full", "single"])
def test_the_stream_covers_every_name_of_the_lexicons_held_out_ones_included(stream, world):
    texts = stream if world == "full" else generate_pretraining_documents(0, "pretrain", 1500, names=world)
    words = set(re.findall(r"[A-Za-z]+", " ".join(texts)))
    for kind in lexicons.NAME_WORLDS[world]:
        missing = [name for name in lexicons.HELDOUT_LISTS[kind] if not set(name.split()) <= words]
        assert not missing, (kind, missing)
    # never in a training document, here in pretraining
    assert set(heldout_names(world)["surnames"]) <= words
    # the other world's distinctive words never (its parties and institutions are ordinary words)
    other_world = lexicons.SINGLE_ORGS if world == "full" else (
        lexicons.FIRST_NAMES + lexicons.TEAM_TOWNS + lexicons.COMPANY_PREFIXES)
    assert not words & set(other_world)
    if world == "single":
        train, _ = load_corpus({"source": "factworld", "seed": 0, "n_train": 30, "n_valid": 1,
                                "names": "single"})
        assert train == texts[:30]  # the recipe's corpus.names reaches the stream


def test_streams_are_deterministic_and_named():
    assert generate_pretraining_documents(3, "pretrain", 5) == generate_pretraining_documents(
        3, "pretrain", 5
    )
    assert generate_pretraining_documents(3, "pretrain", 5) != generate_pretraining_documents(
        4, "pretrain", 5
    )
    assert PRETRAIN_STREAMS == ("pretrain", "pretrain_validation")
    with pytest.raises(ValueError, match="not one of"):
        generate_pretraining_documents(0, "train", 5)


def test_load_corpus_sources(tmp_path):
    train, valid = load_corpus({"source": "factworld", "seed": 0, "n_train": 4, "n_valid": 2})
    assert len(train) == 4 and len(valid) == 2
    path = tmp_path / "texts.jsonl"
    path.write_text('{"text": "One. Two."}\n{"text": "Three."}\n')
    train, valid = load_corpus(
        {"source": "files", "field": "text", "train_path": str(path), "validation_path": None}
    )
    assert train == ["One. Two.", "Three."] and valid == []
    with pytest.raises(DataError, match="source must be"):
        load_corpus({"source": "hub"})


def test_sentences_split_and_fit():
    assert split_sentences("Kelso won 3-1. It rained!  Fans sang? ") == [
        "Kelso won 3-1.", "It rained!", "Fans sang?"
    ]
    ids, starts = [[1, 2], [3, 4, 5], [6]], [[True, False], [True, True, False], [True]]
    assert fit_sentences(ids, starts, 5) == ([[1, 2], [3, 4, 5]], [[True, False], [True, True, False]])
    assert fit_sentences(ids, starts, 1) == ([[1]], [[True]])  # at least part of the first sentence


TEXTS = ["Kelso Rovers beat Ashford United 3-1 in Leeds. Maria Lee scored twice. The crowd sang."] * 3


@pytest.fixture(scope="module")
def tokenizer():
    return train_bpe_tokenizer(TEXTS * 20, vocab_size=300, min_frequency=1)


def test_tokenized_sentences_rebuild_the_text_and_mark_word_starts(tokenizer):
    [(ids, starts)] = tokenize_sentences(tokenizer, TEXTS[:1])
    assert tokenize_sentences(tokenizer, ["", TEXTS[0]])[0] == ([], [])
    assert [t for s in ids for t in s] == tokenizer(TEXTS[0], add_special_tokens=False)["input_ids"]
    assert len(ids) == 3 and starts[1][0] is True and starts[0][0] is False  # " Maria" vs "Kelso"
    assert sum(sum(s) for s in starts) + 1 == len(TEXTS[0].split())  # every word but the first


def test_denoising_pairs_target_the_text_and_noise_the_source(tokenizer):
    pairs = denoising_pairs(tokenizer, TEXTS, NoisingConfig(), seed=0, max_len=64, key_prefix="train")
    text_ids = tokenizer(TEXTS[0])["input_ids"]
    assert [p.key for p in pairs] == ["train-0000000", "train-0000001", "train-0000002"]
    assert all(p.target_ids == text_ids for p in pairs)
    mask = tokenizer.mask_token_id
    for p in pairs:
        assert p.source_ids[0] == tokenizer.bos_token_id and p.source_ids[-1] == tokenizer.eos_token_id
        assert mask in p.source_ids and len(p.source_ids) < len(p.target_ids)
    assert len({tuple(p.source_ids) for p in pairs}) == 3  # each text its own noise
    again = denoising_pairs(tokenizer, TEXTS, NoisingConfig(), seed=0, max_len=64, key_prefix="train")
    assert [p.source_ids for p in again] == [p.source_ids for p in pairs]


def test_denoising_pairs_respect_max_len_and_skip_empty_texts(tokenizer):
    pairs = denoising_pairs(tokenizer, [TEXTS[0], ""], NoisingConfig(mask_ratio=0.0, permute_sentences=0.0),
                            seed=0, max_len=16, key_prefix="t")
    assert len(pairs) == 1 and len(pairs[0].target_ids) <= 16
    assert pairs[0].source_ids == pairs[0].target_ids  # no noise: the identity
    assert np.all(np.array(pairs[0].target_ids[1:-1]) >= 0)


def test_copy_pairs_are_random_strings_copied_and_keyed_by_seed_and_index():
    pairs = copy_pairs(3, 5, (4, 9), seed=7, bos=0, eos=2)
    assert [p.key for p in pairs] == ["copy-0000000", "copy-0000001", "copy-0000002"]
    for p in pairs:
        assert p.source_ids == p.target_ids and len(p.source_ids) == 7
        assert p.source_ids[0] == 0 and p.source_ids[-1] == 2
        assert all(4 <= t < 9 for t in p.source_ids[1:-1])  # never a special token
    assert len({tuple(p.source_ids) for p in pairs}) == 3
    assert copy_pairs(2, 5, (4, 9), seed=7, bos=0, eos=2)[1] == pairs[1]  # pair i depends on (seed, i)
    assert copy_pairs(1, 5, (4, 9), seed=8, bos=0, eos=2)[0] != pairs[0]
    assert copy_pairs(0, 5, (4, 4), seed=0, bos=0, eos=2) == []
    with pytest.raises(ValueError, match="non-empty token range"):
        copy_pairs(1, 5, (4, 4), seed=0, bos=0, eos=2)


def test_chunked_copy_pairs_shuffle_whole_chunks_of_the_same_target():
    plain = copy_pairs(4, 7, (4, 40), seed=3, bos=0, eos=2)
    chunked = copy_pairs(4, 7, (4, 40), seed=3, bos=0, eos=2, chunk_len=3)
    assert [p.target_ids for p in chunked] == [p.target_ids for p in plain]  # the same strings
    moved = 0
    for p in chunked:
        target = p.target_ids[1:-1]
        chunks = [tuple(target[0:3]), tuple(target[3:6]), tuple(target[6:7])]  # the last one is short
        source = p.source_ids[1:-1]
        assert p.source_ids[0] == 0 and p.source_ids[-1] == 2 and sorted(source) == sorted(target)
        # the source is the chunks, each whole, in some order
        found, cursor = [], 0
        while cursor < len(source):
            match = next(c for c in chunks if tuple(source[cursor:cursor + len(c)]) == c and c not in found)
            found.append(match)
            cursor += len(match)
        assert sorted(found) == sorted(chunks)
        moved += found != chunks
    assert moved > 0  # some order changed (4 strings of 3 chunks: P(all unchanged) = 1/1296)
    with pytest.raises(ValueError, match="chunk_len >= 0"):
        copy_pairs(1, 5, (4, 9), seed=0, bos=0, eos=2, chunk_len=-1)
