"""ConSeq contrast sets: choosing S+ / S- from scores (pure) and batching them for training.

* :mod:`consum.contrast.selection`: ``select_contrast`` over keyed score rows (spec §6.3).
* :mod:`consum.contrast.collator`: ``ContrastCollator`` (document groups -> loss-ready tensors) and
  ``group_batches`` (token-budget batches of whole groups).
* :mod:`consum.contrast.spans`: where a negative is unsupported (character spans of its worst QA
  answers or of the oracle's unsupported mentions) and the tokens they cover, for
  ``loss=span_unlikelihood``.
* :mod:`consum.contrast.select_stage`: the ``select_contrast`` stage (``make select-contrast``): reads
  the score and candidate run dirs, writes the contrast run dir (not imported here: it does I/O).
"""

from consum.contrast.collator import ContrastCollator, group_batches
from consum.contrast.selection import Selection, SelectionConfig, select_contrast
from consum.io.keys import REFERENCE_CAND_ID

__all__ = [
    "REFERENCE_CAND_ID",
    "ContrastCollator",
    "Selection",
    "SelectionConfig",
    "group_batches",
    "select_contrast",
]
