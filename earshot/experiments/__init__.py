"""Library forms of the papers' experiments (the CLI wraps them in `earshot experiment NAME`)."""
