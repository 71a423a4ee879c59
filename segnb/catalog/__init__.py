"""The catalog: which tables hold entities, tags and events, and their types."""
