import pytest
import torch

from consum.io import open_input
from consum.tracking import read_metrics
from consum.training import mle
from tests.integration.conftest import TINY_MODEL

pytestmark = pytest.mark.integration

FAST = ["train.max_tokens=256", "train.log_every=1", "train.eval_every=1000", "train.val_rouge_docs=4",
        "optim.lr=1e-3", "optim.warmup_steps=2", "data.summary_max_len=12", "data.summary_min_len=2",
        "data.max_source_len=64"]


def config(compose_config, data_run, run_id, *extra):
    return compose_config(
        "train_mle", [f"run_id={run_id}", f"inputs.data={data_run}", *TINY_MODEL, *FAST, *extra]
    )


def losses(run_path):
    return {r["step"]: r["train/loss"] for r in read_metrics(run_path) if "train/loss" in r}


def test_resume_logs_the_same_losses(toy_data_run, compose_config):
    straight = mle.run(
        config(compose_config, toy_data_run, "straight", "train.max_steps=6", "train.checkpoint_every=3")
    )
    with pytest.raises(RuntimeError, match="simulated crash"):
        mle.run(config(
            compose_config, toy_data_run, "resumed", "train.max_steps=6", "train.checkpoint_every=3",
            "fault.after_steps=3",
        ))
    resumed = mle.run(
        config(compose_config, toy_data_run, "resumed", "train.max_steps=6", "train.checkpoint_every=3")
    )
    a, b = losses(straight.path), losses(resumed.path)
    assert sorted(a) == sorted(b) == [1, 2, 3, 4, 5, 6]
    for step in a:
        assert a[step] == pytest.approx(b[step], rel=1e-5, abs=1e-6), step
    # the final models are the same
    from safetensors.torch import load_file

    w1 = load_file(straight.path / "model" / "model.safetensors")
    w2 = load_file(resumed.path / "model" / "model.safetensors")
    for name in w1:
        assert torch.allclose(w1[name], w2[name], atol=1e-6), name


def test_every_parameter_moves_and_model_loads_by_path(toy_data_run, compose_config):
    cfg = config(
        compose_config, toy_data_run, "moved", "train.max_steps=3", "train.checkpoint_every=100",
        "model.tiny.dropout=0.0",
    )
    from consum.models import load_model
    from consum.models.loading import model_for_training

    data_rows = open_input(toy_data_run).rows("train")
    initial, _ = model_for_training(
        cfg["model"], lambda: (t for r in data_rows for t in (r["document"], r["summary"])), seed=cfg["seed"]
    )
    run = mle.run(cfg)
    trained = load_model(run.path / "model")
    before = dict(initial.named_parameters())
    unmoved = [n for n, p in trained.named_parameters() if torch.equal(p, before[n])]
    assert not unmoved, unmoved
    manifest = open_input(run.path).manifest
    assert manifest["inputs"]["data"]["stage"] == "prepare_data"
    assert manifest["outputs"]["model"]["kind"] == "model"
    assert "val/rougeL" in manifest["stats"]["final_validation"]
    assert "val/lead1_rougeL" in manifest["stats"]["lead_baseline"]


def test_best_metric_keeps_the_weights_of_the_best_evaluation(toy_data_run, compose_config):
    """+train.best_metric=val/nll: model/ holds the weights of the evaluation with the lowest val/nll
    (saved in best_model/), the stats say which step, and final_validation is that evaluation's."""
    from safetensors.torch import load_file

    from consum.training.loop import lower_is_better

    assert lower_is_better("val/nll") and lower_is_better("heldout/loss")
    assert not lower_is_better("val/rougeL")
    run = mle.run(config(compose_config, toy_data_run, "best", "train.max_steps=6", "train.eval_every=2",
                         "train.checkpoint_every=100", "optim.lr=0.5", "+train.best_metric=val/nll"))
    logged = {r["step"]: r["val/nll"] for r in read_metrics(run.path) if "val/nll" in r}
    assert sorted(logged) == [2, 4, 6]
    best_step = min(logged, key=logged.get)
    assert best_step < 6  # lr 0.5 diverges: the last weights are not the best, so the restore is exercised
    stats = open_input(run.path).manifest["stats"]
    assert stats["best"]["step"] == best_step and stats["best"]["last_step"] == 6
    assert stats["best"]["value"] == pytest.approx(logged[best_step])
    assert stats["final_validation"]["val/nll"] == pytest.approx(logged[best_step])
    final = load_file(run.path / "model" / "model.safetensors")
    best = load_file(run.path / "best_model" / "model.safetensors")
    assert final.keys() == best.keys()
    for name in final:
        assert torch.equal(final[name], best[name]), name
    with pytest.raises(KeyError, match="best_metric='val/nope'"):
        mle.run(config(compose_config, toy_data_run, "best_bad", "train.max_steps=2", "train.eval_every=2",
                       "train.checkpoint_every=100", "+train.best_metric=val/nope"))
