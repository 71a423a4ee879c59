"""The notebook face of segnb: ``%segnb``, ``%segment`` and ``%%segment``.

``%load_ext segnb`` calls :func:`load_ipython_extension`: it registers the
magics, makes ``%config SegNB.…`` reach their settings and adds tab
completion of tag, event, attribute and segment names.

Examples
--------
In a notebook::

    %load_ext segnb
    %segnb demo
    %segment estimate count(purchase, T-6..T) >= 2
"""

from __future__ import annotations

from typing import Any

from segnb.magics.completion import SegnbCompleter
from segnb.magics.magic import SegnbMagics

__all__ = ["SegnbCompleter", "SegnbMagics", "load_ipython_extension", "unload_ipython_extension"]


def load_ipython_extension(ip: Any) -> None:
    """Register the magics, their settings and their completer on the shell ``ip``."""
    if _instance(ip) is not None:
        return
    magics = SegnbMagics(ip)
    ip.register_magics(magics)
    ip.configurables.append(magics.settings)
    ip.Completer.custom_matchers.append(SegnbCompleter(magics))


def unload_ipython_extension(ip: Any) -> None:
    """Remove what :func:`load_ipython_extension` added and close the magics' connection."""
    magics = _instance(ip)
    if magics is None:
        return
    magics.close()
    manager = ip.magics_manager
    for kind, names in (("line", ("segnb", "segment")), ("cell", ("segment",))):
        for name in names:
            manager.magics[kind].pop(name, None)
    manager.registry.pop(type(magics).__name__, None)
    ip.configurables[:] = [c for c in ip.configurables if c is not magics.settings]
    ip.Completer.custom_matchers[:] = [
        m
        for m in ip.Completer.custom_matchers
        if not (isinstance(m, SegnbCompleter) and m.magics is magics)
    ]


def _instance(ip: Any) -> SegnbMagics | None:
    found = ip.magics_manager.registry.get(SegnbMagics.__name__)
    return found if isinstance(found, SegnbMagics) else None
