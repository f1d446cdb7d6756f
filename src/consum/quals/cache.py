"""A content-hash cache of QA generation: key = hash(summary text, QAGen weights, generation config).

Re-scoring the same summaries against other documents, with another filter, or after a crash costs
no generation. SQLite (stdlib) so several processes can share one file safely.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path


def cache_key(summary: str, model_hash: str, generation_key: str) -> str:
    return hashlib.sha256("\x00".join((model_hash, generation_key, summary)).encode("utf-8")).hexdigest()


class QACache:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=120)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS qa (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._db.commit()
        self.hits = 0
        self.misses = 0

    def get_many(self, keys: Iterable[str]) -> dict[str, dict]:
        keys = list(dict.fromkeys(keys))
        found: dict[str, dict] = {}
        for start in range(0, len(keys), 500):  # SQLite's bound-parameter limit
            part = keys[start : start + 500]
            rows = self._db.execute(
                f"SELECT key, value FROM qa WHERE key IN ({','.join('?' * len(part))})", part
            )
            found.update((k, json.loads(v)) for k, v in rows)
        self.hits += len(found)
        self.misses += len(keys) - len(found)
        return found

    def put_many(self, items: dict[str, dict]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO qa (key, value) VALUES (?, ?)",
            [(k, json.dumps(v)) for k, v in items.items()],
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()
