"""Helpers of the segment-store tests that are not fixtures (see store_helpers.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import DEMO_END

__all__ = ["AS_OF", "pg_url", "run_child"]

AS_OF = DEMO_END


def pg_url(con) -> str:
    """A URL for another process to reach the PostgreSQL database ``con`` uses."""
    info = con.con.info
    return f"postgres://{info.user}@{info.host}:{info.port}/{info.dbname}"


def run_child(code: str, timeout: float = 120, wait: bool = True):
    """Run Python ``code`` in a fresh interpreter (segnb importable); a Popen or the result."""
    root = Path(__file__).resolve().parent.parent
    cmd = [sys.executable, "-c", textwrap.dedent(code)]
    proc = subprocess.Popen(
        cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    if not wait:
        return proc
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err
