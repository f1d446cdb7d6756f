"""Evaluation of summaries: ROUGE, entity-level factuality, confidence intervals and metric statistics."""
