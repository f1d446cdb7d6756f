"""report.html + PNGs from the evaluate stage's results and per-QA detail rows.

Figures: QUALS distribution per system; hallucination (or entity precision) per system with 95%
CIs; and for the worst-scored summaries, the QA pair that drove the score, with per-token
log-probs given the document vs. given the summary (the seed article's figure).
"""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_quals_distribution(per_doc: dict[str, list[dict]], path: Path) -> bool:
    series = {
        name: [m["quals"] for m in rows if m.get("quals") is not None] for name, rows in per_doc.items()
    }
    if not any(series.values()):
        return False
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for name, values in series.items():
        if values:
            ax.hist(values, bins=30, alpha=0.5, label=f"{name} (mean {sum(values) / len(values):.3f})")
    ax.set_xlabel("QUALS (higher = more consistent)")
    ax.set_ylabel("summaries")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def plot_rates(results: dict, path: Path) -> bool:
    keys = [
        k for k in ("hallucinated", "extrinsic", "intrinsic")
        if any(k in s for s in results["systems"].values())
    ]
    ylabel = "share of summaries (%)"
    if not keys:
        keys, ylabel = [
            k for k in ("prec_s", "prec_t", "recall_t") if any(k in s for s in results["systems"].values())
        ], "%"
    return plot_bars(
        {name: {k: s.get(k) for k in keys} for name, s in results["systems"].items()}, keys, ylabel, path
    )


def plot_kinds(results: dict, path: Path) -> bool:
    """Share of summaries with each kind of oracle error, per system (factworld)."""
    from consum.data.factworld.oracle import ERROR_KINDS

    stats = {name: s["oracle_breakdown"] for name, s in results["systems"].items() if "oracle_breakdown" in s}
    return bool(stats) and plot_bars(stats, list(ERROR_KINDS), "share of summaries with one (%)", path)


def plot_bars(stats_by_system: dict[str, dict], keys: list[str], ylabel: str, path: Path) -> bool:
    """Grouped bars of ``stats[system][key]`` = {mean, ci_low, ci_high} (fractions), with CI whiskers."""
    if not keys:
        return False
    names = list(stats_by_system)
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for i, name in enumerate(names):
        stats = [stats_by_system[name].get(k) for k in keys]
        means = [100 * s["mean"] if s else 0 for s in stats]
        errors = [
            [100 * (s["mean"] - s["ci_low"]) if s else 0 for s in stats],
            [100 * (s["ci_high"] - s["mean"]) if s else 0 for s in stats],
        ]
        ax.bar([j + i * width for j in range(len(keys))], means, width, yerr=errors, capsize=3, label=name)
    ax.set_xticks(
        [j + width * (len(names) - 1) / 2 for j in range(len(keys))], [k.replace("_", " ") for k in keys]
    )
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def worst_pairs(details: list[dict], n: int) -> list[dict]:
    """The lowest-scoring pair of each of the n worst-scored summaries."""
    by_summary: dict[tuple, dict] = {}
    for d in details:
        key = (d["system"], d["doc_id"])
        if key not in by_summary or d["pair_score"] < by_summary[key]["pair_score"]:
            by_summary[key] = d
    return sorted(by_summary.values(), key=lambda d: d["summary_quals"])[:n]


def plot_token_logprobs(pair: dict, path: Path) -> None:
    tokens = [t.replace("$", r"\$") for t in pair["tokens"]]
    x = range(len(tokens))
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(tokens)), 3.4))
    ax.bar([i - 0.2 for i in x], pair["summary_logprobs"], 0.4, label="given the summary", color="tab:blue")
    ax.bar([i + 0.2 for i in x], pair["doc_logprobs"], 0.4, label="given the document", color="tab:orange")
    ax.set_xticks(list(x), tokens, rotation=60, fontsize=8)
    ax.set_ylabel("token log-prob")
    ax.set_title(f"{pair['question']} → {pair['answer']}   (pair score {pair['pair_score']:.3f})", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown_table_to_html(table: str) -> str:
    lines = [line for line in table.splitlines() if line.startswith("|")]
    notes = [line for line in table.splitlines() if line and not line.startswith("|")]
    rows = [
        [html.escape(c.strip()) for c in line.strip("|").split("|")]
        for line in lines if not line.startswith("|---")
    ]
    out = []
    if rows:  # a block of notes only (e.g. "Made by ...") has no table
        head, body = rows[0], rows[1:]
        out += ["<table>", "<tr>" + "".join(f"<th>{c}</th>" for c in head) + "</tr>"]
        out += ["<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in body]
        out.append("</table>")
    out += [f"<p>{html.escape(n)}</p>" for n in notes]
    return "\n".join(out)


def highlight(text: str, spans: list[tuple[int, int, str, str]]) -> str:
    """HTML of ``text`` with each (start, end, css class, title) span marked; overlapping spans are
    dropped."""
    out, cursor = [], 0
    for start, end, css, title in sorted(spans):
        if start < cursor:
            continue
        out += [html.escape(text[cursor:start]),
                f"<mark class='{css}' title='{html.escape(title)}'>{html.escape(text[start:end])}</mark>"]
        cursor = end
    out.append(html.escape(text[cursor:]))
    return "".join(out)


def answer_span(summary: str, answer: str) -> tuple[int, int] | None:
    """Where the QA pair's answer occurs in the summary (case-insensitive, as the original's filter)."""
    needle = answer.strip().lower()
    start = summary.lower().find(needle) if needle else -1
    return (start, start + len(needle)) if start >= 0 else None


def worst_example_html(pair: dict, metrics: dict, document: str, image: str) -> str:
    summary = metrics["summary"]
    spans = [(f["start"], f["end"], "oracle", f"oracle: {f['kind'].replace('_', ' ')}")
             for f in metrics.get("oracle_flags") or []]
    found = answer_span(summary, pair["answer"])
    if found:
        spans.append((*found, "answer", "answer of the QA pair below"))
    verdict = metrics.get("oracle_verdict")
    verdict_html = ("<br>oracle: " + "; ".join(html.escape(v) for v in verdict)) if verdict else ""
    return (
        f"<div class='ex'><b>{html.escape(pair['system'])}</b> / {html.escape(pair['doc_id'])}: "
        f"QUALS {pair['summary_quals']:.3f}"
        f"<details><summary>document</summary><p>{html.escape(document)}</p></details>"
        f"summary: {highlight(summary, spans)}{verdict_html}<br>"
        f"Q: {html.escape(pair['question'])} A: {html.escape(pair['answer'])}<br><img src='{image}'></div>"
    )


STYLE = (
    "<style>body{font-family:sans-serif;max-width:1000px;margin:auto} table{border-collapse:collapse}"
    " td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px}"
    " .ex{background:#f6f6f6;padding:6px;margin:6px 0}"
    " mark.answer{background:#ffe08a} mark.oracle{background:#f7a6a6}"
    " mark.oracle.answer{background:#f5b041}</style>"
)


def write_report(run_path: Path, results: dict, per_doc: dict[str, list[dict]], details: list[dict],
                 tables: list[str], documents: dict[str, str], n_worst: int = 4) -> Path:
    run_path = Path(run_path)
    parts = ["<html><head><meta charset='utf-8'><title>consum evaluation</title>", STYLE,
             f"</head><body><h1>consum evaluation ({html.escape(results['split'])}, "
             f"{results['n_docs']} documents)</h1>",
             *(markdown_table_to_html(t) for t in tables)]
    if plot_quals_distribution(per_doc, run_path / "quals_distribution.png"):
        parts.append("<h2>QUALS per system</h2><img src='quals_distribution.png'>")
    if plot_rates(results, run_path / "rates.png"):
        parts.append("<h2>Hallucination / entity precision per system (95% CI)</h2><img src='rates.png'>")
    if plot_kinds(results, run_path / "kinds.png"):
        parts.append("<h2>Hallucinations by kind (95% CI)</h2><img src='kinds.png'>")
    worst = worst_pairs(details, n_worst)
    if worst:
        parts.append("<h2>Worst-scored summaries: the QA pair that drove the score</h2>"
                     "<p>Highlighted: <mark class='answer'>the pair's answer</mark>, "
                     "<mark class='oracle'>mentions the oracle flags</mark> (hover for the kind).</p>")
        metrics = {(name, m["doc_id"]): m for name, rows in per_doc.items() for m in rows}
        for k, pair in enumerate(worst):
            image = f"worst_qa_{k}.png"
            plot_token_logprobs(pair, run_path / image)
            parts.append(worst_example_html(pair, metrics[(pair["system"], pair["doc_id"])],
                                            documents[pair["doc_id"]], image))
    parts.append("</body></html>")
    path = run_path / "report.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
