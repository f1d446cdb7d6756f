"""``make train-mle`` / ``python -m consum.cli.train_mle [key=value ...]``
(also under ``accelerate launch``)."""

import hydra
from omegaconf import DictConfig

from consum.cli._common import CONFIG_PATH, quiet_libraries, to_container


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="train_mle")
def main(cfg: DictConfig) -> None:
    quiet_libraries()
    from consum.training.mle import run

    run(to_container(cfg))


if __name__ == "__main__":
    main()
