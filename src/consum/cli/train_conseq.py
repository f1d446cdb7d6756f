"""``make train-conseq`` / ``python -m consum.cli.train_conseq data=... [key=value ...]``."""

import hydra
from omegaconf import DictConfig

from consum.cli._common import CONFIG_PATH, quiet_libraries, to_container


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="train_conseq")
def main(cfg: DictConfig) -> None:
    quiet_libraries()
    from consum.training.conseq import run

    run(to_container(cfg))


if __name__ == "__main__":
    main()
