"""The segment store: database wrapper, schema, versions and bitmaps."""
