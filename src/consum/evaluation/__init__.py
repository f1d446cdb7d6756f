"""Evaluation of summaries: confidence intervals, the oracle's breakdown, the evaluate stage and its
report. ROUGE, entity-level factuality and metric statistics are in :mod:`consum.metrics` (training,
contrast and score-quals use them too)."""
