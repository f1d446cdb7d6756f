"""One name per stage everywhere: make target ``select-contrast`` -> module ``consum.cli.select_contrast``
-> config ``conf/select_contrast.yaml`` (``stage: select_contrast``) -> run dir
``runs/select_contrast/<run_id>``."""

import re

import yaml

from tests.conftest import CONF_DIR, REPO_ROOT

CLI_DIR = REPO_ROOT / "src" / "consum" / "cli"
MAKEFILE = (REPO_ROOT / "Makefile").read_text()
CLI_MODULES = sorted(p.stem for p in CLI_DIR.glob("*.py") if not p.stem.startswith("_"))
PRIMARIES = sorted(p.stem for p in CONF_DIR.glob("*.yaml"))


def stage_targets() -> dict[str, str]:
    """make target -> the consum.cli module its recipe runs through $(call STAGE,<module>) (or
    KEYED_STAGE: pretrain's run dir is keyed by its recipe, not by RUN_ID)."""
    found = re.findall(
        r"^([a-z-]+):[^\n]*\n\t\$\(call (?:KEYED_)?STAGE,(\w+)\)", MAKEFILE, flags=re.MULTILINE
    )
    return dict(found)


def test_every_cli_module_has_a_config_and_a_make_target_of_the_same_name():
    targets = stage_targets()
    assert CLI_MODULES == PRIMARIES
    assert sorted(targets.values()) == CLI_MODULES
    for target, module in targets.items():
        assert target.replace("-", "_") == module, f"make {target} runs consum.cli.{module}"


def test_every_config_names_its_stage_and_run_dir_after_itself():
    for name in PRIMARIES:
        raw = yaml.safe_load((CONF_DIR / f"{name}.yaml").read_text())
        assert raw["stage"] == name
        assert raw["run_dir"] == "${paths.runs_dir}/${stage}/${run_id}"


def test_every_make_target_is_listed_by_make_help():
    declared = re.findall(r"^([a-z-]+):", MAKEFILE, flags=re.MULTILINE)
    documented = re.findall(r"^([a-z-]+):.*## ", MAKEFILE, flags=re.MULTILINE)
    assert declared == documented


def test_build_contrast_is_the_three_stage_composite():
    recipe = re.search(r"^build-contrast:.*\n((?:\t.*\n)+)", MAKEFILE, flags=re.MULTILINE).group(1)
    steps = [line.split()[1] for line in recipe.strip().splitlines()]
    assert steps == ["generate", "score-quals", "select-contrast"]


def test_inputs_point_at_the_run_dirs_of_existing_stages():
    for name in PRIMARIES:
        raw = yaml.safe_load((CONF_DIR / f"{name}.yaml").read_text())
        for key, value in (raw.get("inputs") or {}).items():
            if isinstance(value, str) and value.startswith("${paths.runs_dir}/"):
                upstream = value.split("/")[1]
                assert upstream in PRIMARIES, f"{name}.inputs.{key} reads runs/{upstream}/, not a stage"
