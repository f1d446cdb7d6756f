"""Check that an environment holds exactly the locked packages: ``python scripts/check_lock.py LOCK``.

Run by ``make setup`` after installing with ``-c LOCK`` (so CI checks it on every fresh clone), with
the venv's python. Compares ``pip freeze --exclude-editable`` (consum itself is the editable one)
with the lock, name by name:
- a locked package missing or at another version is an error;
- an installed package the lock does not name is an error, except the CUDA runtime that a CUDA build
  of torch brings (``nvidia-*``, ``triton``, ``cuda-*``) when torch is not the CPU build;
- torch's local build label (``+cpu``, ``+cu128``) is ignored: ``make setup TORCH_SPEC=...`` picks
  the build, the lock pins the release.
Exit status 1 with one line per difference.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

CUDA_COMPANIONS = re.compile(r"^(nvidia-.*|triton|cuda-.*)$")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if "==" not in line:
            raise ValueError(f"not a pin (name==version): {line!r}")
        name, version = line.split("==", 1)
        pins[normalise(name)] = version.strip()
    return pins


def release(version: str) -> str:
    return version.split("+", 1)[0]


def differences(locked: dict[str, str], installed: dict[str, str]) -> list[str]:
    cuda_torch = "+" in installed.get("torch", "") and not installed["torch"].endswith("+cpu")
    problems = []
    for name, version in sorted(locked.items()):
        if name not in installed:
            problems.append(f"{name}: locked {version}, not installed")
        elif release(installed[name]) != release(version):
            problems.append(f"{name}: locked {version}, installed {installed[name]}")
    for name, version in sorted(installed.items()):
        if name not in locked and not (cuda_torch and CUDA_COMPANIONS.match(name)):
            problems.append(f"{name}: installed {version}, not in the lock")
    return problems


def installed_pins() -> dict[str, str]:
    freeze = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    return parse_pins([line for line in freeze if "==" in line])


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.splitlines()[0], file=sys.stderr)
        return 2
    lock = Path(argv[0])
    problems = differences(parse_pins(lock.read_text().splitlines()), installed_pins())
    for line in problems:
        print(f"lock mismatch: {line}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} difference(s) between this environment and {lock}. A fresh venv "
              f"(rm -rf .venv && make setup) installs exactly the lock; `make lock` refreshes it.",
              file=sys.stderr)
        return 1
    print(f"environment == {lock} ({sum(1 for _ in parse_pins(lock.read_text().splitlines()))} packages)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
