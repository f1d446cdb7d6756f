"""factworld generation: determinism, noise rates, held-out names, row schema, templates, speed; in
both names worlds (full, single) where the property holds in both."""

import hashlib
import json
import re
import time
from itertools import combinations

import pytest

from consum.data.factworld import (
    EVENT_SPECS,
    LABELS,
    SIZES,
    SPLITS,
    FactworldConfig,
    generate_corpus,
    heldout_names,
    lexicons,
)
from consum.data.factworld.entities import ORG, PERSON, find_mentions
from consum.data.factworld.events import MAIN_AGE, MAIN_NATIONALITY
from consum.data.factworld.render import slots
from consum.data.factworld.sampling import NAMES

ROW_KEYS = {
    "doc_id", "document", "summary", "split", "event_type", "doc_facts", "summary_facts", "label", "injected"
}


@pytest.fixture(scope="module", params=NAMES)
def names(request):
    return request.param


@pytest.fixture(scope="module")
def tiny(names):
    return generate_corpus(FactworldConfig(size="tiny", seed=0, names=names))


def test_the_full_world_is_the_corpus_it_was_before_the_names_option():
    """sha256 of the tiny corpus (seed 0) at c253605, before FactworldConfig.names existed: the default
    world stays byte-identical, so every run dir made before keeps its data."""
    corpus = generate_corpus(FactworldConfig(size="tiny", seed=0, train_noise=0.5))
    digest = hashlib.sha256(json.dumps(corpus, sort_keys=True).encode()).hexdigest()
    assert digest == "5a3f3200d5db04facbb618212086e9a38c9111f5e76115b72dced68bb362272e"
    assert FactworldConfig().names == "full"


def test_single_names_are_one_word_and_distinct_within_a_document():
    corpus = generate_corpus(FactworldConfig(size="tiny", seed=0, names="single", train_noise=0.5))
    single_orgs = {name.lower() for name in lexicons.SINGLE_ORGS}
    for row in (row for rows in corpus.values() for row in rows):
        facts = json.loads(row["doc_facts"])["entities"]
        names = [f["value"] for f in facts if f["type"] in (PERSON, ORG)]
        assert names and all(len(name.split()) == 1 for name in names), row["doc_id"]
        assert all(f["value"].lower() in single_orgs for f in facts if f["type"] == ORG)
        words = [w.lower() for f in facts if f["type"] in (PERSON, ORG, "GPE", "AWARD")
                 for w in f["value"].split()]
        assert len(words) == len(set(words)), row["doc_id"]
        # a person is their surname everywhere: no first name in the document or its reference
        for text in (row["document"], row["summary"]):
            people = [m for m in find_mentions(text) if m.entity_type == PERSON]
            assert all(m.name_part == "surname" for m in people), (row["doc_id"], text)


def test_split_sizes_follow_the_size_and_its_overrides(tiny):
    assert {split: len(rows) for split, rows in tiny.items()} == SIZES["tiny"]
    corpus = generate_corpus(FactworldConfig(size="tiny", n_train=7, n_valid=3, n_test=0))
    assert [len(corpus[s]) for s in SPLITS] == [7, 3, 0]


def test_same_seed_gives_identical_output_and_another_seed_does_not(tiny, names):
    again = generate_corpus(FactworldConfig(size="tiny", seed=0, names=names))
    other = generate_corpus(FactworldConfig(size="tiny", seed=1, names=names))
    assert json.dumps(again, sort_keys=True) == json.dumps(tiny, sort_keys=True)
    assert json.dumps(other, sort_keys=True) != json.dumps(tiny, sort_keys=True)
    assert all(a["document"] != b["document"] for a, b in zip(tiny["train"], other["train"], strict=True))


def test_a_document_depends_on_its_seed_split_and_index_only(tiny, names):
    """Changing the noise or the split size changes references, never documents."""
    noisy = generate_corpus(FactworldConfig(size="tiny", seed=0, train_noise=0.9, n_train=120, names=names))
    assert [r["document"] for r in noisy["train"]] == [r["document"] for r in tiny["train"][:120]]


def test_rows_have_the_schema(tiny):
    ids = [row["doc_id"] for rows in tiny.values() for row in rows]
    assert len(set(ids)) == len(ids)
    for split, rows in tiny.items():
        for index, row in enumerate(rows):
            assert set(row) == ROW_KEYS
            assert row["doc_id"] == f"fw-{split}-{index:06d}" and row["split"] == split
            assert row["label"] in LABELS and row["event_type"] in EVENT_SPECS
            doc_facts, summary_facts = json.loads(row["doc_facts"]), json.loads(row["summary_facts"])
            assert doc_facts["event_type"] == summary_facts["event_type"] == row["event_type"]
            assert all({"role", "type", "value", "main"} <= set(f) for f in doc_facts["entities"])
            injected = json.loads(row["injected"])
            assert (injected is None) == (row["label"] == "consistent")
            if injected:
                assert injected["label"] == row["label"] and injected["errors"]


def test_every_fact_is_stated_and_every_reference_value_comes_from_its_facts(tiny):
    for row in tiny["train"]:
        for fact in json.loads(row["doc_facts"])["entities"]:
            assert fact["value"] in row["document"]
        for fact in json.loads(row["summary_facts"])["entities"]:
            assert fact["value"] in row["summary"]


@pytest.mark.parametrize(("noise", "extrinsic_share"), [(0.3, 0.5), (0.2, 0.75), (0.0, 0.5)])
def test_training_noise_rates_match_the_config(noise, extrinsic_share):
    cfg = FactworldConfig(
        size="small", train_noise=noise, extrinsic_share=extrinsic_share, n_valid=0, n_test=0
    )
    labels = [row["label"] for row in generate_corpus(cfg)["train"]]
    assert len(labels) == 3000
    extrinsic, intrinsic = labels.count("extrinsic") / 3000, labels.count("intrinsic") / 3000
    assert extrinsic == pytest.approx(noise * extrinsic_share, abs=0.02)
    assert intrinsic == pytest.approx(noise * (1 - extrinsic_share), abs=0.02)


def test_evaluation_references_are_faithful_unless_eval_noise_is_set(tiny, names):
    assert all(row["label"] == "consistent" for split in ("validation", "test") for row in tiny[split])
    noisy = generate_corpus(FactworldConfig(size="tiny", eval_noise=0.5, names=names))
    assert sum(row["label"] != "consistent" for row in noisy["test"]) == 25


@pytest.mark.parametrize("names", NAMES)
def test_unfaithful_references_use_every_kind_of_error(names):
    rows = generate_corpus(FactworldConfig(size="tiny", train_noise=1.0, n_train=400, names=names))["train"]
    kinds = {json.loads(row["injected"])["kind"] for row in rows}
    assert kinds == {"attribute", "replacement", "swap"}
    invented = [row["summary"] for row in rows if json.loads(row["injected"])["kind"] == "attribute"]
    assert sum(bool(re.search(r"\d+-year-old", s)) for s in invented) > len(invented) / 3


@pytest.mark.parametrize("world", NAMES)
def test_heldout_names_never_appear_in_training_but_do_in_evaluation(world):
    corpus = generate_corpus(FactworldConfig(size="small", n_valid=600, n_test=600, names=world))
    names = [name for names in heldout_names(world).values() for name in names]
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, names)) + r")\b")
    for row in corpus["train"]:
        assert not pattern.search(row["document"] + " " + row["summary"]), row["doc_id"]
    seen = {
        m.group()
        for split in ("validation", "test")
        for row in corpus[split]
        for m in pattern.finditer(row["document"])
    }
    assert len(seen) > 0.9 * len(names)


def test_lexicon_words_never_belong_to_two_lists():
    single_word_lists = {
        "first names": lexicons.FIRST_NAMES,
        "surnames": lexicons.SURNAMES,
        "cities": lexicons.CITIES,
        "team towns": lexicons.TEAM_TOWNS,
        "company prefixes": lexicons.COMPANY_PREFIXES,
        "single-word organisations": lexicons.SINGLE_ORGS,
        "nationalities": lexicons.NATIONALITIES,
        "dates": lexicons.WEEKDAYS + lexicons.MONTHS,
    }
    for items in single_word_lists.values():
        assert len(set(items)) == len(items)
    for (name_a, a), (name_b, b) in combinations(single_word_lists.items(), 2):
        assert not {w.lower() for w in a} & {w.lower() for w in b}, (name_a, name_b)
    other_words = {w.lower() for items in lexicons.HELDOUT_LISTS.values() if items is not lexicons.SINGLE_ORGS
                   for name in items for w in name.split()}
    other_words |= {w.lower() for w in lexicons.TEAM_SUFFIXES + lexicons.COMPANY_SUFFIXES
                    + lexicons.TRANSPORT_SUFFIXES + lexicons.FIRST_NAMES}
    assert not {w.lower() for w in lexicons.SINGLE_ORGS} & other_words


def test_no_template_word_is_a_name_of_the_single_world():
    """A single-world organisation is a word no template writes, so the matcher never reads prose as a
    name (and a full-world text, which draws none of them, is read as before)."""
    words = set()
    for spec in EVENT_SPECS.values():
        texts = spec.leads + spec.summaries + spec.fillers + spec.attribute_predicates + spec.person_nouns
        texts += tuple(t for s in spec.statements for t in s.templates)
        texts += tuple(q for qs in spec.questions.values() for q in qs)
        texts += tuple(v for values in spec.details.values() for v in values)
        words |= {w.lower() for text in texts for w in re.findall(r"[A-Za-z]+", text)}
    assert not words & {name.lower() for name in lexicons.SINGLE_ORGS}


def test_templates_fill_only_known_slots_and_every_role_has_questions():
    for spec in EVENT_SPECS.values():
        roles = {role.name for role in spec.roles} | {MAIN_AGE, MAIN_NATIONALITY}
        known = roles | set(spec.details) | {"noun"}
        templates = spec.leads + spec.summaries + spec.fillers + spec.attribute_predicates
        templates += tuple(t for s in spec.statements for t in s.templates)
        templates += tuple(q for qs in spec.questions.values() for q in qs)
        for template in templates:
            assert set(slots(template)) <= known | {"main_np"}, (spec.name, template)
        assert set(spec.questions) == {role.name for role in spec.roles}, spec.name
        for swap in spec.swaps:
            assert spec.role(swap.target).entity_type == spec.role(swap.source).entity_type
        assert all(not slots(filler) and not re.search(r"\d", filler) for filler in spec.fillers)


def test_documents_and_references_have_news_like_lengths(tiny):
    rows = [row for split in SPLITS for row in tiny[split]]
    doc_words = [len(row["document"].split()) for row in rows]
    summary_words = [len(row["summary"].split()) for row in rows]
    assert 45 <= min(doc_words) and max(doc_words) <= 200 and 80 <= sum(doc_words) / len(rows)
    assert 12 <= min(summary_words) and max(summary_words) <= 35
    assert all(row["summary"].count(". ") == 0 and row["summary"].endswith(".") for row in rows)
    assert {row["event_type"] for row in rows} == set(EVENT_SPECS)


def test_generation_is_fast():
    start = time.perf_counter()
    generate_corpus(FactworldConfig(size="tiny", n_train=3000, n_valid=0, n_test=0))
    assert 3000 / (time.perf_counter() - start) >= 2000  # docs per second


@pytest.mark.parametrize(
    "bad", [{"size": "huge"}, {"train_noise": 1.5}, {"extrinsic_share": -0.1}, {"n_train": -1},
            {"names": "double"}]
)
def test_bad_configs_are_refused(bad):
    with pytest.raises(ValueError):
        FactworldConfig(**bad)
