"""The QUALS options of the command lines (``consum-quals``, ``bench-metric``), defined once.

Every :class:`~consum.quals.config.QualsConfig` field is a flag (``max_qas`` -> ``--max-qas``), and so is
every QA-generation field (``--num-beams`` also sets the diverse beam groups, one beam per group, unless
``--num-groups`` is given). The flags are derived from the dataclasses, so a new QualsConfig field is a
new flag without a CLI edit. ``--preset NAME`` starts from ``conf/quals/NAME.yaml`` (the Hydra group
``make score-quals`` reads, its ``defaults:`` resolved by Hydra) instead of ``QualsConfig()``; the flags
given override it.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
from pathlib import Path

from consum.quals.config import CHOICES, QAGenerationConfig, QualsConfig

PRESET_DIR = Path(__file__).resolve().parents[3] / "conf" / "quals"  # as CONFIG_PATH in consum.cli._common

# QA-generation flags whose field name alone would be ambiguous next to the other lengths.
GENERATION_FLAGS = {"min_len": "--min-qa-len", "max_len": "--max-qa-len"}
GENERATION_DEST = "generation."  # prefix of the generation fields' argparse dests


class OptionError(Exception):
    """Bad QUALS options (unknown preset, invalid combination): one line and exit status 2."""


def quals_fields() -> list[dataclasses.Field]:
    """The scalar QualsConfig fields (``generation`` has its own flags)."""
    return [f for f in dataclasses.fields(QualsConfig) if f.name != "generation"]


def field_comments(cls) -> dict[str, str]:
    """The end-of-line comment of each field in ``cls``'s source: the flags' help without a second copy."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):  # no source shipped: the flags still work, without descriptions
        return {}
    return dict(re.findall(r"^\s+(\w+):[^=\n]+=[^#\n]*#\s*(.+)$", source, flags=re.MULTILINE))


def presets() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def add_quals_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--preset``, a flag per QUALS setting, and the scorer's ``--device`` and ``--cache``.

    Every setting flag defaults to None (= the preset's value, else QualsConfig's), so that a flag
    given on the command line is told apart from one left out.
    """
    group = parser.add_argument_group(
        "QUALS settings", "default: QualsConfig() = conf/quals/default.yaml; --preset starts from another"
    )
    group.add_argument("--preset", choices=presets() or None, help="conf/quals/<name>.yaml as the base")
    defaults, comments = QualsConfig(), field_comments(QualsConfig)
    for f in quals_fields():
        default = getattr(defaults, f.name)
        add_setting(group, "--" + f.name.replace("_", "-"), f.name, type(default), default,
                    comments.get(f.name, f"QualsConfig.{f.name}, docs/quals.md"), CHOICES.get(f.name))
    generation, generation_comments = QAGenerationConfig(), field_comments(QAGenerationConfig)
    for f in dataclasses.fields(QAGenerationConfig):
        flag = GENERATION_FLAGS.get(f.name, "--" + f.name.replace("_", "-"))
        default = "--num-beams" if f.name == "num_groups" else getattr(generation, f.name)
        add_setting(group, flag, GENERATION_DEST + f.name, type(getattr(generation, f.name)), default,
                    generation_comments.get(f.name, f"QA generation: {f.name}"), None)
    scorer = parser.add_argument_group("scorer")
    scorer.add_argument("--device", default=None, help="torch device (default: cuda when available)")
    scorer.add_argument("--cache", default=None, help="sqlite file caching QA generation")


def add_setting(group, flag: str, dest: str, kind: type, default, description: str, choices) -> None:
    if kind not in (str, int, float):
        raise TypeError(f"no command-line type for QUALS setting {dest} ({kind.__name__})")
    help_text = f"{description} (default: {default})".replace("%", "%%")  # argparse formats help with %
    group.add_argument(flag, dest=dest, type=kind, choices=choices, default=None,
                       metavar=None if choices else kind.__name__.upper(), help=help_text)


def load_preset(name: str) -> QualsConfig:
    """``conf/quals/<name>.yaml`` composed by Hydra (its ``defaults:`` chain resolved) as a QualsConfig."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    if name not in presets():
        known = ", ".join(presets()) or "none"
        raise OptionError(f"no QUALS preset {name!r} in {PRESET_DIR}; presets: {known}")
    with initialize_config_dir(version_base="1.3", config_dir=str(PRESET_DIR)):
        values = OmegaConf.to_container(compose(config_name=name), resolve=True)
    return QualsConfig.from_dict(values)


def quals_settings(args: argparse.Namespace) -> QualsConfig:
    """The QualsConfig the parsed flags describe: the preset (else the defaults), the given flags on top."""
    base = load_preset(args.preset) if args.preset else QualsConfig()
    values = dataclasses.asdict(base)
    given = {dest: value for dest, value in vars(args).items() if value is not None}
    values.update({f.name: given[f.name] for f in quals_fields() if f.name in given})
    generation = values["generation"]
    for f in dataclasses.fields(QAGenerationConfig):
        generation[f.name] = given.get(GENERATION_DEST + f.name, generation[f.name])
    if GENERATION_DEST + "num_beams" in given and GENERATION_DEST + "num_groups" not in given:
        generation["num_groups"] = generation["num_beams"]  # QUALS's search: one beam per group
    try:
        return QualsConfig.from_dict(values)
    except ValueError as e:
        raise OptionError(str(e)) from e


def scorer_kwargs(args: argparse.Namespace) -> dict:
    """Keyword arguments of ``QualsScorer.from_pretrained(qagen, **scorer_kwargs(args))``."""
    return {"device": args.device, "cache_path": args.cache, **dataclasses.asdict(quals_settings(args))}
