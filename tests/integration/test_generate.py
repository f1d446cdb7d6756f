import os
import subprocess
import sys

import pytest

from consum.generation import candidates
from consum.io import check_keys, open_input
from tests.compare import assert_same_rows
from tests.conftest import CONF_DIR

pytestmark = pytest.mark.integration

LOGPROB_FIELDS = ("gen_logprob_sum", "gen_logprob_mean")
GEN = [
    "generation.max_len=6", "generation.min_len=2", "generation.num_candidates=3",
    "shard_size=8", "batch_size=4", "data.max_source_len=48",
]


def overrides(data_run, model_run, run_id, *extra):
    return [f"run_id={run_id}", f"inputs.data={data_run}", f"inputs.model={model_run}", *GEN, *extra]


def test_two_processes_give_exactly_the_rows_of_one(tmp_path, toy_data_run, fake_model_run, compose_config):
    one = candidates.run(
        compose_config("generate", overrides(toy_data_run, fake_model_run, "one")), echo=lambda s: None
    )
    env = {**os.environ, "PYTHONPATH": str(CONF_DIR.parent)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "-m", "consum.cli.generate",
           f"paths.root_dir={tmp_path}", "cpu=true", *overrides(toy_data_run, fake_model_run, "two")]
    subprocess.run(cmd, check=True, env=env, capture_output=True, timeout=300)
    two = open_input(tmp_path / "runs" / "generate" / "two")
    assert two.manifest["world_size"] == 2
    rows_one, rows_two = open_input(one.path).rows("candidates"), two.rows("candidates")
    assert len(rows_one) == 40 * 3
    # keys and texts exactly; log-probs within float noise (1 vs 2 threads per process: tests/compare.py)
    assert_same_rows(rows_one, rows_two, floats=LOGPROB_FIELDS)


def test_batch_composition_does_not_change_samples(toy_data_run, fake_model_run, compose_config):
    a = candidates.run(
        compose_config("generate", overrides(toy_data_run, fake_model_run, "a")), echo=lambda s: None
    )
    b = candidates.run(
        compose_config(
            "generate", overrides(toy_data_run, fake_model_run, "b", "batch_size=7", "shard_size=5")
        ),
        echo=lambda s: None,
    )
    rows_a, rows_b = open_input(a.path).rows("candidates"), open_input(b.path).rows("candidates")
    assert_same_rows(rows_a, rows_b, floats=LOGPROB_FIELDS)
    assert len({r["text"] for r in rows_a}) > 1  # samples differ


def test_killed_generate_resumes_with_every_key_once(toy_data_run, fake_model_run, compose_config):
    with pytest.raises(RuntimeError, match="simulated crash"):
        candidates.run(
            compose_config("generate", overrides(toy_data_run, fake_model_run, "k", "fault.after_shards=2")),
            echo=lambda s: None,
        )
    run = candidates.run(
        compose_config("generate", overrides(toy_data_run, fake_model_run, "k")), echo=lambda s: None
    )
    rows = open_input(run.path).rows("candidates")
    docs = open_input(toy_data_run).rows("train")
    check_keys(
        [(d["doc_id"], f"s{k}") for d in docs for k in range(3)],
        [(r["doc_id"], r["cand_id"]) for r in rows],
        "resumed",
    )


def test_missing_model_is_a_clear_error(tmp_path, toy_data_run, compose_config):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        candidates.run(
            compose_config("generate", overrides(toy_data_run, tmp_path / "nope", "m")), echo=lambda s: None
        )
