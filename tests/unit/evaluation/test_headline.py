"""consum.evaluation.headline: what `make pipeline` prints at its end."""

import re
from pathlib import Path

from consum.evaluation import headline
from consum.evaluation.evaluate import results_table

RESULTS = {
    "n_docs": 300, "split": "test",
    "systems": {
        "mle": {"rougeL": {"mean": 0.5751, "ci_low": 0.5467, "ci_high": 0.5997},
                "quals": {"mean": 0.15, "ci_low": 0.12, "ci_high": 0.18}},
        "conseq": {"rougeL": {"mean": 0.569, "ci_low": 0.5447, "ci_high": 0.5935},
                   "quals": {"mean": 0.19, "ci_low": 0.17, "ci_high": 0.22}},
    },
    "quals_auc_vs_oracle": {"roc_auc": 0.62, "n": 600},
}
KINDS = "| system | mangled copy |\n|---|---|\n| mle | 40.33 |\n\nOracle hallucinations by kind."
MADE_BY = "Made by commit cd41335, torch 2.13.0+cpu, AMD EPYC (2 CPUs)"


def write_run(tmp_path, report=True):
    # as evaluate.write_outputs writes it
    (tmp_path / "results.md").write_text("\n\n".join([results_table(RESULTS), KINDS, MADE_BY]) + "\n")
    if report:
        (tmp_path / "report.html").write_text("<html></html>")
    return tmp_path


def test_the_headline_is_the_first_table_its_notes_and_the_made_by_line(tmp_path):
    text = headline.render(write_run(tmp_path))
    assert text.splitlines()[:2] == [
        f"Results: {tmp_path / 'results.md'}", f"Report:  {tmp_path / 'report.html'}"
    ]
    assert results_table(RESULTS) in text  # the table with its notes (n docs, QUALS ROC-AUC)
    assert "| mle | 57.51 [54.67, 59.97] | 0.15 [0.12, 0.18] |" in text
    assert "mangled copy" not in text  # the second table stays in results.md
    assert text.endswith(MADE_BY)


def test_main_prints_it_and_a_missing_run_is_one_line_and_status_2(tmp_path, capsys):
    assert headline.main([str(write_run(tmp_path, report=False))]) == 0
    out = capsys.readouterr().out
    assert "| system | rougeL | quals |" in out and "Report:" not in out  # no report.html, no line
    assert headline.main([str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "no results.md" in err and err.count("\n") == 1


def test_make_pipeline_ends_by_printing_the_evaluate_run_of_its_run_id():
    makefile = (Path(__file__).resolve().parents[3] / "Makefile").read_text()
    recipe = re.search(r"^pipeline:.*\n((?:\t.*\n)+)", makefile, flags=re.MULTILINE).group(1)
    last = recipe.strip().splitlines()[-1]
    assert "-m consum.evaluation.headline" in last and last.endswith("/runs/evaluate/$(RUN_ID)")


def test_make_pipeline_runs_the_studys_world_unless_told_otherwise():
    """The XSum regime with single-word names (the study's world, where the tiny model copies names),
    unless EXP says otherwise."""
    import subprocess

    repo = Path(__file__).resolve().parents[3]

    def stages(*args):  # what make would run, without running it
        out = subprocess.run(["make", "-n", "--no-print-directory", "pipeline", "RUN_ID=x", *args], cwd=repo,
                             capture_output=True, text=True, check=True).stdout
        return [line for line in out.splitlines() if line.startswith("make ") and "EXP=" in line]

    assert stages() and all("EXP=factworld_xsum_single" in line.split() for line in stages())
    assert all("EXP=factworld_small" in line for line in stages("EXP=factworld_small"))


def _stat(mean, low, high, **extra):
    return {"mean": mean, "ci_low": low, "ci_high": high, **extra}


def test_on_factworld_the_headline_is_by_kind_invented_attributes_first_with_the_paired_change(tmp_path):
    import json

    def kinds(attribute, value, swap, mangled):
        counts = {"invented_attribute": attribute, "invented_value": value, "role_swap": swap,
                  "mangled_copy": mangled}
        return {k: _stat(n / 100, 0.0, 1.0, mentions=n) for k, n in counts.items()}

    results = {**RESULTS, "made_by": MADE_BY, "systems": {
        "mle": {**RESULTS["systems"]["mle"], "hallucinated": _stat(0.70, 0.65, 0.75),
                "oracle_breakdown": kinds(16, 20, 50, 2)},
        "conseq": {**RESULTS["systems"]["conseq"], "hallucinated": _stat(0.62, 0.57, 0.67),
                   "oracle_breakdown": kinds(4, 21, 40, 1)}},
        "comparisons": {"conseq-vs-mle": {"hallucinated": {"diff": -0.08, "ci_low": -0.12, "ci_high": -0.04,
                                                           "p_value": 0.001}}}}
    write_run(tmp_path)
    (tmp_path / "results.json").write_text(json.dumps(results))
    text = headline.render(tmp_path)
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("| system"))
    assert header.split(" | ")[1:3] == ["invented attribute", "invented value"]  # the reward's kind first
    assert "| mle | 16.0 (16) | 20.0 (20) | 50.0 (50) | 2.0 (2) | 70.0 |  | 57.5 | 0.15 |" in lines
    assert ("| conseq | 4.0 (4) | 21.0 (21) | 40.0 (40) | 1.0 (1) | 62.0 | -8.0 [-12.0, -4.0] p 0.001 "
            "| 56.9 | 0.19 |") in lines
    assert "300 test documents" in text and text.endswith(MADE_BY)
    # a run whose systems have no oracle breakdown (not factworld) keeps results.md's first table
    (tmp_path / "results.json").write_text(json.dumps(RESULTS))
    assert results_table(RESULTS) in headline.render(tmp_path)
