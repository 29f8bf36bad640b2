"""Sub-commands of `earshot eval`, one module each."""
