"""One training engine for every earshot model: recipes, typed configs, checkpoints, export.

See :mod:`earshot.train.recipe` for how to write a recipe and docs/training.md for usage.
"""
