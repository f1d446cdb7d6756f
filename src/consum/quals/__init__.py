"""QUALS: QA-based factual-consistency scoring of summaries (Nan et al., ACL 2021)."""
