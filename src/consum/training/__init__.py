"""Training recipes, one readable script per method: ``mle`` (summarizer and QAGen), ``conseq``."""
