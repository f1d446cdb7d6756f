"""scripts/check_lock.py: the comparison `make setup` runs between the environment and the lock."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_lock.py"
spec = importlib.util.spec_from_file_location("check_lock", SCRIPT)
check_lock = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_lock)

LOCK = ["# a comment", "", "torch==2.13.0", "transformers==5.24.0", "PyYAML==6.0.3"]


def test_the_same_environment_passes_whatever_the_torch_build_and_name_spelling():
    locked = check_lock.parse_pins(LOCK)
    assert check_lock.differences(
        locked, {"torch": "2.13.0+cpu", "transformers": "5.24.0", "pyyaml": "6.0.3"}
    ) == []


def test_other_versions_missing_and_extra_packages_are_each_reported():
    locked = check_lock.parse_pins(LOCK)
    installed = {"torch": "2.13.0+cpu", "transformers": "5.25.0", "requests": "2.33.0"}
    assert check_lock.differences(locked, installed) == [
        "pyyaml: locked 6.0.3, not installed",
        "transformers: locked 5.24.0, installed 5.25.0",
        "requests: installed 2.33.0, not in the lock",
    ]


def test_a_cuda_torch_may_bring_its_runtime_but_a_cpu_torch_may_not():
    locked = check_lock.parse_pins(LOCK)
    extra = {"transformers": "5.24.0", "pyyaml": "6.0.3", "nvidia-cublas-cu12": "12.9.1", "triton": "3.5.0"}
    assert check_lock.differences(locked, {"torch": "2.13.0+cu128", **extra}) == []
    assert len(check_lock.differences(locked, {"torch": "2.13.0+cpu", **extra})) == 2


def test_a_line_that_is_not_a_pin_is_refused():
    with pytest.raises(ValueError, match="not a pin"):
        check_lock.parse_pins(["transformers>=5.24"])


def test_the_committed_lock_parses_and_pins_the_core_packages():
    pins = check_lock.parse_pins((SCRIPT.parents[1] / "requirements.lock").read_text().splitlines())
    assert {"torch", "transformers", "accelerate", "datasets", "hydra-core", "tokenizers"} <= pins.keys()
