"""The one row schema every data source produces."""

from __future__ import annotations

import datasets

SPLITS = ("train", "validation", "test")
ROW_FIELDS = ("doc_id", "document", "summary", "split")

ROW_FEATURES = datasets.Features({name: datasets.Value("string") for name in ROW_FIELDS})


class DataError(ValueError):
    """Bad input data: the message names the file, the line or row, and the field."""
