"""scripts/choose_quals_settings.py: the objective and the tie rule of docs/results/human-judgments.md."""

import importlib.util

from tests.conftest import REPO_ROOT

spec = importlib.util.spec_from_file_location("choose", REPO_ROOT / "scripts" / "choose_quals_settings.py")
choose_script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(choose_script)


def test_the_objective_reads_the_selection_halves_only():
    report = {"files": [
        {"selection": {"spearman": 0.4, "roc_auc": 0.8}, "report": {"spearman": 0.9, "roc_auc": 0.99}},
        {"selection": {"spearman": 0.2, "roc_auc": 0.6}, "report": {"spearman": -0.9, "roc_auc": 0.1}},
    ]}
    # ((0.4 + 0.6) / 2 + (0.2 + 0.2) / 2) / 2 = (0.5 + 0.2) / 2
    assert abs(choose_script.objective(report) - 0.35) < 1e-12


def test_a_value_listed_earlier_wins_within_the_tie_margin():
    assert choose_script.choose([("parity", 0.300), ("other", 0.304)]) == "parity"
    assert choose_script.choose([("parity", 0.300), ("other", 0.306)]) == "other"
    assert choose_script.choose([("a", 0.1), ("b", 0.3), ("c", 0.298)]) == "b"


def test_a_candidate_is_named_by_what_differs_from_parity():
    parity = dict(choose_script.PARITY)
    assert choose_script.candidate_name(parity) == "parity"
    named = choose_script.candidate_name({**parity, "answers": "spans", "aggregation": "min"})
    assert named == "answers-spans__aggregation-min"
    flags = " ".join(choose_script.flags_of({**parity, "long_documents": "windows256"}))
    assert "--long-documents windows --window-tokens 256" in flags and "--answers generated" in flags
