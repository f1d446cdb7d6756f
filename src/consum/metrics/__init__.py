"""Text metrics any stage may use: pure functions of strings and numbers, no model, no run dir.

They live here, in the bottom layer beside ``losses``, ``data``, ``models`` and ``io``, because more
than one layer needs them: ROUGE (``rouge``: validation ROUGE and the lead baseline in ``train-mle``,
the ConSeq-ROUGE reward of ``select-contrast``, evaluation), ROC-AUC and thresholds (``metric_stats``:
score-quals, evaluation) and entity-level factuality (``entity``: ``train-mle``'s entity filter,
evaluation). What only the evaluate stage needs (bootstrap, the oracle's breakdown) stays in
``consum.evaluation``.
"""
