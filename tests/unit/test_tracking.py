import math

from consum.tracking import MetricsLogger, read_metrics, resolve_wandb_mode


def test_jsonl_logger_round_trip(tmp_path):
    logger = MetricsLogger(tmp_path)
    logger.log({"loss": 1.5, "nan": math.nan}, step=3)
    logger.log({"loss": 1.25}, step=4)
    records = read_metrics(tmp_path)
    assert [r["loss"] for r in records] == [1.5, 1.25]
    assert records[0]["step"] == 3 and records[0]["nan"] is None


def test_forget_after_drops_the_updates_past_a_checkpoint(tmp_path):
    # killed hard at step 30 with a checkpoint at 20: the resumed run logs 30 again
    logger = MetricsLogger(tmp_path)
    logger.log({"heldout/x": 0.5})  # no step: kept
    for step in (10, 20, 30):
        logger.log({"loss": float(step)}, step=step)
    assert logger.forget_after(20) == 1
    logger.log({"loss": 31.0}, step=30)
    assert [r.get("step") for r in read_metrics(tmp_path)] == [None, 10, 20, 30]
    assert read_metrics(tmp_path)[-1]["loss"] == 31.0
    assert logger.forget_after(30) == 0


def test_non_main_rank_writes_nothing(tmp_path):
    MetricsLogger(tmp_path, enabled=False).log({"loss": 1.0})
    assert read_metrics(tmp_path) == []


def test_wandb_mode_explicit_config_wins_over_env(monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "online")
    assert resolve_wandb_mode("offline") == "offline"
    assert resolve_wandb_mode(None) == "online"
    monkeypatch.delenv("WANDB_MODE")
    assert resolve_wandb_mode(None) == "offline"


def test_wandb_logger_offline_writes_local_run(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    logger = MetricsLogger(tmp_path, wandb_cfg={"project": "consum-test", "mode": "offline"}, config={"a": 1})
    logger.log({"loss": 2.0, "train/loss": 2.0, "val/rouge1": 0.5}, step=1)  # wandb panels: train/, val/
    logger.close()
    assert read_metrics(tmp_path)[0]["loss"] == 2.0
    assert read_metrics(tmp_path)[0]["val/rouge1"] == 0.5
    assert any((tmp_path / "wandb").glob("offline-run-*"))
