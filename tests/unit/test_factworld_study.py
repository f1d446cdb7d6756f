"""scripts/factworld_study.py: aggregation of per-seed evaluate results (hand-computed)."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "factworld_study.py"
spec = importlib.util.spec_from_file_location("factworld_study", SCRIPT)
study = importlib.util.module_from_spec(spec)
spec.loader.exec_module(study)


def results(hallucinated: dict, rouge: float, auc: float | None) -> dict:
    systems = {
        name: {"hallucinated": {"mean": h}, "rougeL": {"mean": rouge}, "quals": {"mean": None}}
        for name, h in hallucinated.items()
    }
    out = {"systems": systems}
    if auc is not None:
        out["quals_auc_vs_oracle"] = {"roc_auc": auc}
    return out


def test_aggregate_means_sds_and_relative_change():
    by_seed = {
        1: results({"mle": 0.8, "conseq_quals": 0.4}, 0.5, 0.7),
        2: results({"mle": 0.6, "conseq_quals": 0.4}, 0.7, 0.9),
    }
    out = study.aggregate(by_seed)
    mle, conseq = out["systems"]["mle"], out["systems"]["conseq_quals"]
    assert mle["hallucinated"]["mean"] == pytest.approx(0.7)
    assert mle["hallucinated"]["sd"] == pytest.approx(0.1414213, abs=1e-6)  # sample sd of 0.8, 0.6
    assert conseq["hallucinated"] == {"mean": pytest.approx(0.4), "sd": 0.0, "per_seed": [0.4, 0.4]}
    assert conseq["hallucinated_relative_change"] == pytest.approx((0.4 - 0.7) / 0.7)
    assert "quals" not in mle  # None means are skipped, not averaged as 0
    assert "conseq_rouge" in out["systems"] and out["systems"]["conseq_rouge"] == {}
    assert out["quals_auc_vs_oracle"]["mean"] == pytest.approx(0.8)
    assert out["seeds"] == [1, 2]


def test_table_lists_every_system_with_relative_change():
    out = study.aggregate({1: results({"mle": 0.5, "conseq_quals": 0.25}, 0.6, None)})
    text = study.table(out)
    assert "| conseq_quals | 25.00 ± 0.00 |" in text and "-50.0%" in text
    assert "| conseq_rouge | n/a |" in text
    assert "ROC-AUC" not in text
