"""Data sources (hub, local files, the embedded factworld), preprocessing filters, the row schema.

Every source yields rows of one schema: ``doc_id`` (stable, unique), ``document``, ``summary``,
``split``. Stages key everything on ``doc_id``.
"""
