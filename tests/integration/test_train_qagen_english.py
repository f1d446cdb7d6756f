"""make train-qagen EXP=english on a tiny BERT checkpoint and tiny SQuAD files: the warm start, the
held-out articles, the training contexts, a resumable run, and a QAGen that QUALS takes in both modes."""

import json

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from consum.io.rundir import open_input
from consum.quals.scorer import QualsScorer
from consum.training import qagen
from tests.conftest import CONF_DIR, TOY_TEXTS
from tests.unit.data.test_qa_json import squad_json

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def squad_dir(tmp_path_factory):
    """Two SQuAD-shaped files named as the english experiment expects, from the toy sentences."""
    path = tmp_path_factory.mktemp("squad")
    articles = [(f"Article {i}", [(" ".join(TOY_TEXTS[i % 4 : i % 4 + 2]), [
        ("Who scored twice?", TOY_TEXTS[i % 4].split(", and ")[1].split(" scored")[0]),
        ("Where was the match?", TOY_TEXTS[i % 4].split(" in ")[1].split(" on ")[0]),
    ])]) for i in range(8)]
    (path / "du2017-split-test-v1.1.trainarticles.json").write_text(json.dumps(squad_json(*articles[:5])))
    (path / "dev-v1.1.reconstructed.json").write_text(json.dumps(squad_json(*articles[5:])))
    return path


def english_config(root, squad_dir, bert_dir, *overrides):
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose(config_name="train_qagen", overrides=[
            f"paths.root_dir={root}", f"paths.squad_dir={squad_dir}", "experiment=english", "run_id=english",
            f"model.warm_start.encoder={bert_dir}", "model.warm_start.decoder_layers=1",
            "qagen_data.validation_articles=1", "train.max_steps=4", "optim.total_steps=4",
            "train.eval_every=4", "train.checkpoint_every=2", "train.val_rouge_docs=2",
            "train.max_tokens=512", "train.log_every=1",
            *overrides,
        ])
    return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)


def test_the_english_qagen_trains_from_a_warm_start_and_scores_both_ways(tmp_path, squad_dir, tiny_bert_dir):
    cfg = english_config(tmp_path, squad_dir, tiny_bert_dir, "fault.after_steps=2")
    with pytest.raises(RuntimeError, match="after_steps"):  # killed after its checkpoint of step 2
        qagen.run(cfg)
    run = qagen.run(english_config(tmp_path, squad_dir, tiny_bert_dir))  # resumed: 2 more updates
    stats = open_input(run.path).manifest["stats"]
    assert stats["steps"] == 4 and stats["train_articles_dropped_as_validation"] == 1
    # 8 articles of 2 questions: 7 train, 1 held out
    assert stats["n_train"] == 14 and stats["n_valid"] == 2
    assert set(stats["context_modes"]) <= {"sentence", "window", "paragraph"}
    assert stats["warm_start"]["encoder"]["name"] == str(tiny_bert_dir)
    assert {"val/nll", "val/parse_rate", "val/answer_in_context"} <= set(stats["final_validation"])
    logged = [json.loads(line) for line in (run.path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logged if "train/loss" in r] == [1, 2, 3, 4]  # each update logged once
    for answers in ("generated", "spans"):
        scorer = QualsScorer.from_pretrained(run.path, answers=answers, answer_extractor="regex",
                                             generation={"num_beams": 4, "num_groups": 4, "max_len": 12})
        [result] = scorer.score([TOY_TEXTS[0]], ["Team Alpha beat Beta in Paris."])
        assert result.n_generated > 0
        if answers == "spans":
            assert result.n_qa == len(scorer.extract_answers("Team Alpha beat Beta in Paris.")) > 0
