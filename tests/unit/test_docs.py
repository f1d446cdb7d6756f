"""The docs cannot rot silently (scripts/check_docs.py): every relative link of README.md and docs/
resolves (anchors included), every `make` target, `python -m consum...` module and repository path
they name exists; and README.md stays a front page (at most 300 lines)."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_docs.py"
spec = importlib.util.spec_from_file_location("check_docs", SCRIPT)
check_docs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_docs)

REPO_ROOT = SCRIPT.parents[1]


def test_the_docs_have_no_broken_link_unknown_target_module_or_path():
    found = check_docs.problems(REPO_ROOT)
    assert not found, "fix these in the docs (or the code they name):\n" + "\n".join(found)


def test_the_readme_is_a_front_page():
    assert len((REPO_ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 300


def make_repo(root: Path, readme: str) -> Path:
    """A repository of one Makefile target, one CLI module, one script and two docs."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "Makefile").write_text("pipeline: ## the demo\n\techo ok\n")
    (root / "src" / "consum" / "cli").mkdir(parents=True)
    (root / "src" / "consum" / "cli" / "train_mle.py").write_text("")
    (root / "scripts").mkdir()
    (root / "scripts" / "bench.py").write_text("")
    (root / "docs").mkdir()
    (root / "docs" / "quals.md").write_text(
        "# QUALS\n\n## The `consum-quals` CLI\n\nBack: [home](../README.md)\n"
    )
    (root / "README.md").write_text(readme)
    return root


GOOD = """# Demo

See [QUALS](docs/quals.md), [its CLI](docs/quals.md#the-consum-quals-cli), [below](#run-it),
[the web](https://example.org/x.md) and ![a figure](docs/quals.md).

## Run it

```bash
make pipeline EXP=factworld_small
python -m consum.cli.train_mle run_id=r
```

Or `make pipeline`, `scripts/bench.py`, and `[not a link](nowhere.md)` in code.
"""


def test_a_clean_repository_passes(tmp_path):
    assert check_docs.problems(make_repo(tmp_path, GOOD)) == []


def test_a_broken_link_anchor_target_module_or_path_is_reported_with_its_line(tmp_path):
    broken = GOOD + (
        "\n[gone](docs/missing.md) and [no such heading](docs/quals.md#parity)\n"
        "[outside](../elsewhere/README.md) and [no section](#install)\n"
        "`make pipline` then `python -m consum.cli.train_qagen` and `scripts/gone.py`\n"
    )
    found = check_docs.problems(make_repo(tmp_path, broken))
    assert found == [
        "README.md:15: broken link docs/missing.md: no docs/missing.md",
        "README.md:15: broken link docs/quals.md#parity: no heading #parity in quals.md",
        "README.md:16: link ../elsewhere/README.md leaves the repository",
        "README.md:16: broken link #install: no heading #install in README.md",
        "README.md:17: make pipline: no such target",
        "README.md:17: no file scripts/gone.py",
        "README.md:17: no module consum.cli.train_qagen",
    ]


def test_links_in_docs_resolve_from_their_own_folder(tmp_path):
    repo = make_repo(tmp_path, GOOD)
    # the heading README.md links to stays; the link means docs/README.md, which is not there
    (repo / "docs" / "quals.md").write_text("# The `consum-quals` CLI\n\n[home](README.md)\n")
    assert check_docs.problems(repo) == ["docs/quals.md:3: broken link README.md: no docs/README.md"]


def test_main_exits_1_on_a_problem(tmp_path, capsys):
    assert check_docs.main([str(make_repo(tmp_path, GOOD))]) == 0
    assert check_docs.main([str(make_repo(tmp_path / "b", GOOD + "[x](y.md)\n"))]) == 1
    assert "broken link y.md" in capsys.readouterr().out


def test_github_slugs():
    assert check_docs.slug("QUALS: score your own summaries") == "quals-score-your-own-summaries"
    slug = check_docs.slug
    assert slug("On system outputs (target: ROC-AUC ≥ 0.75)") == "on-system-outputs-target-roc-auc--075"
    assert slug("Binding pairs (`binding.share`, off)") == "binding-pairs-bindingshare-off"
    assert check_docs.anchors("# A\n\n## A\n\n```\n# not a heading\n```\n") == {"a", "a-1"}
