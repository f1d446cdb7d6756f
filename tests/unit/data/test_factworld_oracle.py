"""The factworld oracle: exact on generated references, robust on hand-written and garbled text."""

import json
import random

import pytest

from consum.data.factworld import FactworldConfig, aggregate, check_summary, find_entities, generate_corpus
from consum.data.factworld.entities import canonical_key

# A match as the generator would describe it; names chosen for the edge cases below.
SPORTS_FACTS = {
    "event_type": "sports_match",
    "entities": [
        {"role": "winner", "type": "ORG", "value": "Kelso Rovers"},
        {"role": "loser", "type": "ORG", "value": "Ashford United"},
        {"role": "score", "type": "SCORE", "value": "3-1"},
        {"role": "location", "type": "GPE", "value": "Leeds"},
        {"role": "date", "type": "DATE", "value": "Saturday"},
        {"role": "scorer", "type": "PERSON", "value": "Maria Lee"},
        {"role": "manager", "type": "PERSON", "value": "Tomas Smithson"},
        {"role": "captain", "type": "PERSON", "value": "Anton Novak"},
        {"role": "attendance", "type": "CARDINAL", "value": "1,200"},
        {"role": "next_city", "type": "GPE", "value": "York"},
        {"role": "main_age", "type": "AGE", "value": "34"},
    ],
}


def statuses(text, facts=SPORTS_FACTS):
    return [(m.surface, m.status) for m in check_summary(facts, text).mentions]


@pytest.fixture(scope="module", params=["full", "single"])
def corpus(request):
    """2000 training documents, half of them with an unfaithful reference, in each names world."""
    return generate_corpus(FactworldConfig(
        size="tiny", seed=3, train_noise=0.5, n_train=2000, n_valid=0, n_test=0, names=request.param
    ))


def test_faithful_references_are_consistent_and_every_injected_error_is_found(corpus):
    rows = corpus["train"]
    assert {row["label"] for row in rows} == {"consistent", "extrinsic", "intrinsic"}
    for row in rows:
        result = check_summary(row["doc_facts"], row["summary"])
        flagged = [m for m in result.mentions if m.status != "supported"]
        if row["label"] == "consistent":
            assert not flagged, (row["summary"], result.describe())
            continue
        errors = json.loads(row["injected"])["errors"]
        assert {m.status for m in flagged} == {row["label"]}, (row["summary"], result.describe())
        wanted = sorted(canonical_key(e["value"]) for e in errors)
        assert sorted(canonical_key(m.surface) for m in flagged) == wanted, (
            row["summary"], result.describe()
        )


def test_documents_contradict_nothing_in_their_own_facts(corpus):
    for row in corpus["train"]:
        result = check_summary(json.loads(row["doc_facts"]), row["document"])
        assert not result.hallucinated, (row["doc_id"], result.describe())
        assert result.n_supported == len(result.mentions) > 0


def test_aggregate_matches_the_configured_noise(corpus):
    rows = corpus["train"]
    agg = aggregate(check_summary(row["doc_facts"], row["summary"]) for row in rows)
    assert agg["n"] == 2000
    assert agg["hallucination_rate"] == pytest.approx(0.5)
    assert agg["extrinsic_rate"] == pytest.approx(0.25) and agg["intrinsic_rate"] == pytest.approx(0.25)
    assert 0 < agg["unsupported_mention_rate"] < 0.5
    assert aggregate([])["hallucination_rate"] == 0.0


def test_role_swaps_are_intrinsic_and_unknown_values_extrinsic():
    assert statuses("Kelso Rovers beat Ashford United 3-1 in Leeds on Saturday.") == [
        ("Kelso Rovers", "supported"), ("Ashford United", "supported"), ("3-1", "supported"),
        ("Leeds", "supported"), ("Saturday", "supported"),
    ]
    assert statuses("Ashford United beat Kelso Rovers 3-1.")[:2] == [
        ("Ashford United", "intrinsic"), ("Kelso Rovers", "intrinsic"),
    ]
    assert statuses("Kelso Rovers won in York.")[-1] == ("York", "intrinsic")  # the next venue as the venue
    assert statuses("Striker Tomas Smithson scored.") == [("Tomas Smithson", "intrinsic")]  # the manager
    assert statuses("Kelso Rovers beat Penrith Town 5-0 in Oslo on Monday.") == [
        ("Kelso Rovers", "supported"), ("Penrith Town", "extrinsic"), ("5-0", "extrinsic"),
        ("Oslo", "extrinsic"), ("Monday", "extrinsic"),
    ]
    assert statuses("The 29-year-old Brazilian striker Maria Lee scored.")[:2] == [
        ("29-year-old", "extrinsic"), ("Brazilian", "extrinsic"),
    ]
    assert statuses("34 fans watched.") == [("34", "intrinsic")]  # the scorer's age as a count


def test_a_name_split_across_whitespace_is_one_person():
    result = check_summary(SPORTS_FACTS, "Maria \n   Lee scored as Kelso\tRovers won.")
    assert [(m.surface, m.entity_type, m.status) for m in result.mentions] == [
        ("Maria \n   Lee", "PERSON", "supported"), ("Kelso\tRovers", "ORG", "supported"),
    ]


def test_numbers_match_with_or_without_thousands_commas():
    assert statuses("A crowd of 1200 watched.") == [("1200", "supported")]
    assert statuses("A crowd of 1,200 watched.") == [("1,200", "supported")]
    assert statuses("A crowd of 12,000 watched.") == [("12,000", "extrinsic")]
    assert statuses("They won 3 - 1.") == [("3 - 1", "supported")]


def test_lowercase_mentions_are_matched():
    assert statuses("kelso rovers beat ashford united, with maria lee scoring in leeds.") == [
        ("kelso rovers", "supported"), ("ashford united", "supported"), ("maria lee", "supported"),
        ("leeds", "supported"),
    ]
    assert statuses("ashford united beat kelso rovers.") == [
        ("ashford united", "intrinsic"), ("kelso rovers", "intrinsic"),
    ]


def test_the_longest_match_wins_over_a_name_inside_another():
    # "Lee" is the scorer's surname, "Leeds" the city; "Smith" is no one, "Smithson" the manager.
    assert statuses("Lee scored in Leeds.") == [("Lee", "supported"), ("Leeds", "supported")]
    assert statuses("Smith and Smithson and Leeson.") == [
        ("Smith", "extrinsic"), ("Smithson", "supported"), ("Leeson", "extrinsic"),
    ]
    assert find_entities("Kelso Rovers") == [("Kelso Rovers", "ORG", (0, 12))]


def test_partial_names_resolve_to_the_document_person():
    assert statuses("Maria said Novak agreed.") == [("Maria", "supported"), ("Novak", "supported")]
    assert statuses("Novak scored.") == [("Novak", "intrinsic")]  # the captain as the scorer


@pytest.mark.parametrize(
    "text",
    [
        "",
        "beat beat 3-1 3-1 ,,, Kelso Kelso Rovers Rovers ?? £££ 99999 $ . . Lee-Leeds lee's",
        "\x00\ufffd\u00e9t\u00e9 Kelso\u200bRovers 1,2,3 -- 4-- $.5m 50%% aged year-old",
        "Rovers Kelso United Ashford beaten by by by in in in Leeds Leeds",
    ],
)
def test_garbled_text_is_judged_without_errors(text):
    result = check_summary(json.dumps(SPORTS_FACTS), text)
    assert all(text[m.span[0] : m.span[1]] == m.surface for m in result.mentions)
    assert result.n_supported + result.n_extrinsic + result.n_intrinsic == len(result.mentions)


def test_random_strings_never_break_the_oracle():
    rng = random.Random(0)
    alphabet = "abcKLRSdeLeeMaria Rovers0123456789,.-$%£ \n\t'"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        result = check_summary(SPORTS_FACTS, text)
        assert {m.status for m in result.mentions} <= {"supported", "extrinsic", "intrinsic"}


def kinds(text, facts=SPORTS_FACTS):
    return [(m.surface, m.kind) for m in check_summary(facts, text).mentions if m.status != "supported"]


def test_each_kind_of_error_on_hand_built_summaries():
    # an age and a nationality the document does not state (it states the age 34)
    assert kinds("The 29-year-old Brazilian striker Maria Lee scored.") == [
        ("29-year-old", "invented_attribute"), ("Brazilian", "invented_attribute"),
    ]
    # names that share a word with a document name of their type: copies gone wrong
    assert kinds("Maria Novak scored for Kelso United.") == [
        ("Maria Novak", "mangled_copy"), ("Kelso United", "mangled_copy"),
    ]
    # values of the right type that share nothing with the document's
    assert kinds("Penrith Town lost 5-0 in Oslo on Monday; Greta Ogunleye scored.") == [
        ("Penrith Town", "invented_value"), ("5-0", "invented_value"), ("Oslo", "invented_value"),
        ("Monday", "invented_value"), ("Greta Ogunleye", "invented_value"),
    ]
    # document values in the wrong role
    assert kinds("Ashford United beat Kelso Rovers. Striker Tomas Smithson scored.") == [
        ("Ashford United", "role_swap"), ("Kelso Rovers", "role_swap"), ("Tomas Smithson", "role_swap"),
    ]
    assert kinds("Maria Lee scored as Kelso Rovers beat Ashford United 3-1 in Leeds.") == []


def test_kind_counts_cover_every_kind_and_only_unsupported_mentions():
    text = "The 29-year-old Maria Novak scored as Ashford United beat Kelso Rovers."
    result = check_summary(SPORTS_FACTS, text)
    assert result.kind_counts() == {
        "invented_attribute": 1, "mangled_copy": 1, "invented_value": 0, "role_swap": 2,
    }
    assert sum(result.kind_counts().values()) == result.n_extrinsic + result.n_intrinsic


def test_single_word_names_have_no_mangled_copy_of_a_person_or_organisation():
    """With one-word people and organisations, a name that shares a word with a document name of its type
    is that name: a wrong one is an invented value, or a role swap when it is another document name."""
    facts = {"event_type": "sports_match", "entities": [
        {"role": "winner", "type": "ORG", "value": "Morvane"},
        {"role": "loser", "type": "ORG", "value": "Brontex"},
        {"role": "scorer", "type": "PERSON", "value": "Okafor"},
        {"role": "captain", "type": "PERSON", "value": "Novak"},
    ]}
    assert kinds("Morvane beat Brontex; Okafor scored.", facts) == []
    assert kinds("Morvane beat Zantrix; Haddad scored.", facts) == [
        ("Zantrix", "invented_value"), ("Haddad", "invented_value"),
    ]
    assert kinds("Brontex beat Morvane. Striker Novak scored.", facts) == [
        ("Brontex", "role_swap"), ("Morvane", "role_swap"), ("Novak", "role_swap"),
    ]
    # a first name the world never uses, before a document surname, is still a copy gone wrong
    assert kinds("Morvane won; Maria Okafor scored.", facts) == [("Maria Okafor", "mangled_copy")]


def test_the_kinds_match_what_the_generator_injected(corpus):
    expected = {"attribute": {"invented_attribute"}, "swap": {"role_swap"}}
    seen = set()
    for row in corpus["train"]:
        injected = json.loads(row["injected"])
        if injected is None:
            continue
        found = {m.kind for m in check_summary(row["doc_facts"], row["summary"]).mentions if m.kind}
        if injected["kind"] in expected:
            assert found == expected[injected["kind"]], (row["summary"], injected)
        else:  # a main fact with a new value: a new name may share a word with the document's (mangled)
            assert found and found <= {"invented_value", "mangled_copy"}, (row["summary"], injected)
        seen.add(injected["kind"])
    assert seen == {"attribute", "replacement", "swap"}
