"""Compiling rules to Ibis: time helpers, shared query blocks, the rule compiler.

``time`` turns calendar days into plain range predicates; ``blocks`` holds the
query pieces every reader shares (the latest tag snapshot on or before a day,
the one-pass conditional event aggregation); ``rules`` is the rule compiler
(a :class:`~segnb.lang.visitor.NodeVisitor`) and ``joins`` the analysis that
picks inner or left joins from three-valued logic.
"""
