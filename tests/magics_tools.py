"""Helpers of the magics tests that are not fixtures (see magics_helpers.py)."""

from __future__ import annotations

from typing import Any

from IPython.core.interactiveshell import InteractiveShell

__all__ = ["Shell", "magics", "run"]


class Shell(InteractiveShell):
    """An InteractiveShell whose ``run_cell`` raises the cell's error (history kept for ``_``)."""

    def run_cell(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("store_history", True)
        result = super().run_cell(*args, **kwargs)
        result.raise_error()
        return result


def run(ip: Shell, code: str) -> Any:
    """Run ``code`` as a cell; the value of its last line (None if it has none)."""
    return ip.run_cell(code).result


def magics(ip: Shell):
    """The SegnbMagics instance ``%load_ext segnb`` registered on ``ip``."""
    return ip.magics_manager.registry["SegnbMagics"]
