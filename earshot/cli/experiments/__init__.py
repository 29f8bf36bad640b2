"""Sub-commands of `earshot experiment`, one module each."""
