import json
import random

import pytest

from consum.data import prepare

TINY_MODEL = [
    "model.tiny.vocab_size=400", "model.tiny.min_frequency=1", "model.tiny.d_model=32",
    "model.tiny.encoder_layers=1", "model.tiny.decoder_layers=1", "model.tiny.attention_heads=2",
    "model.tiny.ffn_dim=64", "model.tiny.max_position_embeddings=128",
]

CITIES = ["Paris", "Lyon", "Rome", "Oslo", "Lima", "Cairo", "Quito", "Accra"]
TEAMS = ["Alpha", "Beta", "Gamma", "Delta", "Omega", "Sigma", "Kappa", "Theta"]


def toy_records(n, seed):
    rng = random.Random(seed)
    records = []
    for i in range(n):
        a, b = rng.sample(TEAMS, 2)
        city = rng.choice(CITIES)
        x, y = rng.randint(1, 5), rng.randint(0, 4)
        records.append({
            "id": f"toy{seed}-{i}",
            "document": f"Team {a} played team {b} in {city} on Sunday. The final score was {x}-{y}. "
                        f"Fans of {a} celebrated.",
            "summary": f"{a} beat {b} {x}-{y} in {city}.",
        })
    return records


@pytest.fixture
def toy_data_run(tmp_path, compose_config):
    """A prepare_data run dir (train 40 / validation 8) under tmp_path with run_id 'toy'."""
    files = {}
    for split, n, seed in (("train", 40, 0), ("validation", 8, 1)):
        path = tmp_path / f"{split}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in toy_records(n, seed)))
        files[split] = path
    cfg = compose_config(
        "prepare_data",
        ["data=jsonl", f"+data.files.train={files['train']}", f"+data.files.validation={files['validation']}",
         "data.fields.id=id", "run_id=toy"],
    )
    return prepare.run(cfg, echo=lambda s: None).path


@pytest.fixture
def fake_model_run(tmp_path, tiny_model_dir):
    """A complete train_mle run dir (run_id 'toy') holding the tiny random model."""
    import shutil

    from consum.io import RunDir

    run = RunDir.create(
        {"stage": "train_mle", "run_id": "toy", "run_dir": str(tmp_path / "runs" / "train_mle" / "toy")}
    )
    shutil.copytree(tiny_model_dir, run.path / "model")
    run.record_model("model")
    run.finalize()
    return run.path
