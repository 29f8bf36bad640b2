"""Training recipes, one module per model; the engine discovers every module here."""
