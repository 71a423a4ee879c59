"""The engine: catalog, rule language and compiler. Knows nothing of notebooks."""
