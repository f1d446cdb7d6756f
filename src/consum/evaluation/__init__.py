"""Evaluation of summaries: entity-level factuality, confidence intervals, metric statistics, the
evaluate stage and its report. ROUGE itself is in :mod:`consum.metrics` (training and contrast use it too)."""
