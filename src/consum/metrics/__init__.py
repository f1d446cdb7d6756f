"""Text metrics any stage may use: pure functions of strings, no model, no run dir.

ROUGE lives here, in the bottom layer beside ``losses``, ``data``, ``models`` and ``io``, because
three layers need it: ``training`` (validation ROUGE and the lead baseline during ``train-mle``),
``contrast`` (the ConSeq-ROUGE reward of ``select-contrast``) and ``evaluation``. Metrics that only
the evaluate stage needs (entity factuality, bootstrap, ROC) stay in ``consum.evaluation``.
"""
