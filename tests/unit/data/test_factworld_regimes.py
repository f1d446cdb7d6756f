"""The two noise regimes of factworld: the XSum regime (experiment factworld_xsum, Maynez et al.'s
rates) and the mild one (factworld_small), counted on generated corpora and checked by the oracle."""

import json
from collections import Counter

import pytest

from consum.data.factworld.generator import FactworldConfig, generate_split
from consum.data.factworld.oracle import check_summary


def regime(compose_config, experiment: str) -> FactworldConfig:
    cfg = compose_config("prepare_data", [f"experiment={experiment}", "data.factworld.n_train=1000"])
    return FactworldConfig(**cfg["data"]["factworld"])


@pytest.mark.parametrize(("experiment", "unfaithful", "extrinsic"), [
    ("factworld_xsum", 770, 732),  # 76.9% hallucinated, 73.1% extrinsic (Maynez et al. 2020)
    ("factworld_xsum_single", 770, 732),  # the same regime with one-word people and organisations
    ("factworld_small", 300, 150),  # the mild, CNN/DM-like regime
])
def test_noise_rates_and_kinds_per_regime(compose_config, experiment, unfaithful, extrinsic):
    cfg = regime(compose_config, experiment)
    assert cfg.names == ("single" if experiment.endswith("_single") else "full")
    rows = generate_split(cfg, "train")
    labels = Counter(r["label"] for r in rows)
    intrinsic = unfaithful - extrinsic
    assert labels == {"consistent": 1000 - unfaithful, "extrinsic": extrinsic, "intrinsic": intrinsic}
    injected = Counter((json.loads(r["injected"]) or {}).get("kind") for r in rows)
    assert injected["swap"] == intrinsic
    assert injected["attribute"] + injected["replacement"] == extrinsic
    # invented attributes where the document leaves one out (3 in 4 extrinsic errors when it does)
    assert 0.55 * extrinsic < injected["attribute"] < 0.75 * extrinsic
    # the oracle finds exactly the injected kind in every reference, and nothing in faithful ones
    expected = {None: set(), "attribute": {"invented_attribute"}, "swap": {"role_swap"},
                "replacement": {"invented_value", "mangled_copy"}}
    for row in rows:
        counts = check_summary(row["doc_facts"], row["summary"]).kind_counts()
        found = {kind for kind, n in counts.items() if n}
        kind = (json.loads(row["injected"]) or {}).get("kind")
        assert found and found <= expected[kind] if kind else not found, (row["doc_id"], kind, found)
    validation = generate_split(cfg, "validation")
    assert {r["label"] for r in validation} == {"consistent"}  # eval_noise 0: evaluation measures the model
