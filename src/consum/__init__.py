"""consum: QUALS factual-consistency scoring and ConSeq contrastive training for summarization."""

__version__ = "0.1.0"
