"""Evaluations as library code: a typed config in, a report section out.

One module per evaluation (``jnd``, ``codec``, ``emulator``, ``style``, ``references``); the
``earshot eval`` commands and the demo call the same ``run(config) -> Section``.
"""
