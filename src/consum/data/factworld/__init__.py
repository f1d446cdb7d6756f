"""factworld: a generated news-like corpus whose hallucinations an oracle can count exactly.

No pretrained summarizer can be loaded here, and a tiny model trained from scratch on real news
learns little. factworld puts the mechanism QUALS and ConSeq are about into data by construction: a
share of training references is unfaithful, so an MLE model learns to hallucinate; an oracle knows
every fact of every document, so hallucinations are counted, not estimated. See docs/factworld.md.

    cfg = FactworldConfig(size="tiny", seed=0)
    corpus = generate_corpus(cfg)                 # split -> rows
    qa = generate_qa_records(cfg, corpus)         # split -> SQuAD-style records
    check_summary(row["doc_facts"], any_text)     # -> OracleResult
"""

from consum.data.factworld.entities import Mention, find_entities, find_mentions
from consum.data.factworld.events import EVENT_SPECS
from consum.data.factworld.generator import LABELS, SIZES, SPLITS, FactworldConfig, generate_corpus
from consum.data.factworld.lexicons import heldout_names
from consum.data.factworld.oracle import OracleMention, OracleResult, aggregate, check_summary
from consum.data.factworld.qa import generate_qa_records
from consum.data.factworld.stats import corpus_stats

__all__ = [
    "EVENT_SPECS",
    "LABELS",
    "SIZES",
    "SPLITS",
    "FactworldConfig",
    "Mention",
    "OracleMention",
    "OracleResult",
    "aggregate",
    "check_summary",
    "corpus_stats",
    "find_entities",
    "find_mentions",
    "generate_corpus",
    "generate_qa_records",
    "heldout_names",
]
