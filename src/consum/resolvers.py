"""OmegaConf resolvers used by consum's configs; every CLI (and the test suite) registers them.

``${content_key:${node}}``: a short, stable hash of a config node's resolved content. The pretrain stage
names its run dir with it, and ``model=pretrained`` computes the same key from the same recipe, so a
trained model is found by what produced it, like a hub download: the same recipe is the same run dir
(done once, reused), a changed recipe is another one.
"""

from __future__ import annotations

import hashlib
import json

from omegaconf import DictConfig, ListConfig, OmegaConf


def content_key(node) -> str:
    """16 hex digits of the sha256 of the node's resolved content as sorted JSON; "none" for null."""
    if node is None:
        return "none"
    value = OmegaConf.to_container(node, resolve=True) if isinstance(node, (DictConfig, ListConfig)) else node
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def register_resolvers() -> None:
    OmegaConf.register_new_resolver("content_key", content_key, replace=True)
