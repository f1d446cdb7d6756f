"""QUALS: QA-based factual consistency of a summary given its document (Nan et al., ACL 2021).

``QualsScorer.from_pretrained(qagen_path).score(documents, summaries)`` is the metric API;
``consum.quals.runner`` is the sharded ``score_quals`` stage; ``python -m consum.quals`` the CLI.
"""

from consum.quals.config import QAGenerationConfig, QualsConfig

__all__ = ["QAGenerationConfig", "QualsConfig", "QualsResult", "QualsScorer"]


def __getattr__(name):  # the scorer pulls in torch/transformers: import it on first use
    if name in ("QualsScorer", "QualsResult"):
        from consum.quals import scorer

        return getattr(scorer, name)
    raise AttributeError(name)
