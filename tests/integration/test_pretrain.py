"""The pretrain stage: keyed by its recipe, resumable, found by model=pretrained."""

import pytest

from consum.io import open_input
from consum.tracking import read_metrics
from consum.training import mle, pretrain

pytestmark = pytest.mark.integration

# A very small recipe: 120 documents, a 400-token BPE, d_model 32, a few updates of 512 tokens
RECIPE = [
    "corpus.n_train=120", "corpus.n_valid=10", "model.tiny.vocab_size=400", "model.tiny.d_model=32",
    "model.tiny.encoder_layers=1", "model.tiny.decoder_layers=1", "model.tiny.attention_heads=2",
    "model.tiny.ffn_dim=64", "model.tiny.max_position_embeddings=256", "train.max_tokens=512",
    "train.max_source_len=128", "train.max_target_len=128", "train.log_every=1", "train.eval_every=1000",
    "optim.warmup_steps=2", "optim.lr=1e-3", "copy_task.warmup_steps=2", "copy_task.length=8",
]


def pretrain_config(compose_config, *extra):
    return compose_config("pretrain", [*(f"pretrained.{o}" for o in RECIPE), *extra])


def losses(path):
    return {r["step"]: r["train/loss"] for r in read_metrics(path) if "train/loss" in r}


def test_resume_logs_the_same_losses_and_the_run_dir_is_keyed_by_the_recipe(compose_config, tmp_path):
    straight_cfg = pretrain_config(compose_config, "pretrained.train.max_steps=6",
                                   "pretrained.train.checkpoint_every=3")
    straight = pretrain.run(straight_cfg)
    assert straight.path.name == straight_cfg["run_id"] and len(straight.run_id) == 16
    # the same recipe in another runs folder, killed after its step-3 checkpoint, then resumed
    killed_cfg = pretrain_config(compose_config, "pretrained.train.max_steps=6",
                                 "pretrained.train.checkpoint_every=3", "fault.after_steps=3",
                                 "paths.runs_dir=" + str(tmp_path / "other"))
    with pytest.raises(RuntimeError, match="simulated crash"):
        pretrain.run(killed_cfg)
    resumed = pretrain.run({**killed_cfg, "fault": {"after_steps": None}})
    a, b = losses(straight.path), losses(resumed.path)
    assert sorted(a) == sorted(b) == [1, 2, 3, 4, 5, 6]
    for step in a:
        assert a[step] == pytest.approx(b[step], rel=1e-5, abs=1e-6), step
    stats = open_input(straight.path).manifest["stats"]
    assert stats["n_train_texts"] == 120 and stats["train_masks"] > 0
    assert stats["n_copy_pairs"] == 30  # copy_task.share 0.25 of the 120 texts
    # phase 1, the copy warm-up: its own complete run dir inside, 2 updates, a model phase 2 started from
    warm = open_input(straight.path / pretrain.COPY_WARMUP_DIR)
    assert warm.manifest["stats"]["steps"] == 2 and (warm.path / "model" / "config.json").exists()
    assert max(losses(warm.path)) == 2 and stats["copy_warmup"]["steps"] == 2
    # a second run of the same recipe finds it complete
    lines = []
    again = pretrain.run(straight_cfg, echo=lines.append)
    assert again.is_complete and (straight.path / "tokenizer" / "tokenizer.json").exists()


def test_train_mle_starts_from_the_pretrained_model_of_the_same_recipe(compose_config, toy_data_run):
    done = pretrain.run(pretrain_config(compose_config, "pretrained.train.max_steps=2"))
    recipe = [f"model.recipe.{o}" for o in [*RECIPE, "train.max_steps=2"]]
    cfg = compose_config("train_mle", [
        "model=pretrained", *recipe, f"inputs.data={toy_data_run}", "run_id=toy",
        "train.max_steps=1", "train.eval_every=1000", "train.val_rouge_docs=0", "data.max_source_len=64",
    ])
    assert cfg["model"]["name_or_path"] == str(done.path / "model")
    run = mle.run(cfg)
    manifest = open_input(run.path).manifest
    assert (
        manifest["inputs"]["model"]["path"] == str(done.path)
        and manifest["inputs"]["model"]["stage"] == "pretrain"
    )
    from consum.models import load_tokenizer

    assert load_tokenizer(run.path / "model").get_vocab() == load_tokenizer(done.path / "model").get_vocab()


def test_a_missing_pretrained_model_and_a_hub_experiment_are_explained(compose_config, toy_data_run):
    recipe = [f"model.recipe.{o}" for o in [*RECIPE, "train.max_steps=999"]]  # never pretrained
    cfg = compose_config(
        "train_mle", ["model=pretrained", *recipe, f"inputs.data={toy_data_run}", "run_id=none"]
    )
    with pytest.raises(FileNotFoundError, match="run `make pretrain` with the same experiment first"):
        mle.run(cfg)
    lines = []
    assert pretrain.run(compose_config("pretrain", ["experiment=xsum"]), echo=lines.append) is None
    assert "starts from a hub checkpoint" in lines[0]
