"""Data for earshot: the built-in corpus, perturbations, codec and JND pairs, and dataset loaders.

Submodules are imported on use, so importing this package stays cheap: ``corpus``,
``perturb`` (perturbations by name), ``datasets`` (torch datasets), ``shards`` (the pair-shard
format), ``pairs`` (codec pairs), ``jnd`` (JND pairs judged by the simulated listener),
``judgments`` (judgment lists as a dataset), ``separation``, ``mixing`` (`mix_at_snr`) and
``excerpts`` (`draw_nonsilent`). The psychophysics they use lives below, in `earshot.psycho`.
"""
