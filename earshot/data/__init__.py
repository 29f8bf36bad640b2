"""Data for earshot: the built-in corpus, perturbations, codec pairs and dataset loaders.

Submodules are imported on use (``earshot.data.corpus``, ``earshot.data.perturb``,
``earshot.data.datasets``, ``earshot.data.pairs``) so importing this package stays cheap.
"""
