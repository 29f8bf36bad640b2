"""Psychophysics that both the data pipeline and the web listening test use.

- `earshot.psycho.staircase`: DPAM's adaptive level selection (`AdaptiveStaircase`).
- `earshot.psycho.listener`: the SIMULATED listener (an NMR detector and a psychometric
  function) that stands in for people where no listening test has been run.
- `earshot.psycho.judgments`: the judgment-list format (DPAM's tab-separated lists and
  earshot's JSON Lines), read and written here and nowhere else.

This package sits below `earshot.data` and `earshot.listening` and imports neither of them.
Submodules are imported on use.
"""
