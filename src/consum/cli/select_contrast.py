"""``make select-contrast`` / ``python -m consum.cli.select_contrast [key=value ...]``: the last step of
``make build-contrast`` (generate -> score-quals -> select-contrast)."""

import hydra
from omegaconf import DictConfig

from consum.cli._common import CONFIG_PATH, quiet_libraries, to_container


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="select_contrast")
def main(cfg: DictConfig) -> None:
    quiet_libraries()
    from consum.contrast.select_stage import run

    run(to_container(cfg))


if __name__ == "__main__":
    main()
