"""Stored segments: creation methods, the dependency graph, lifecycle, groups and plans."""
