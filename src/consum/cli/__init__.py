"""Thin Hydra entry points, one per stage: compose the config, call the stage's ``run(cfg)``.

Nothing imports cli/.
"""
