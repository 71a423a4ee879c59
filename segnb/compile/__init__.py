"""Compiling rules to Ibis: time helpers, shared query blocks, the rule compiler."""
