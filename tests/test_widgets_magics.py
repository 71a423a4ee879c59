"""``%segnb wizard`` and ``%segnb browse`` open the apps; magics warn about misspelt values."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError
from magics_tools import run

pytest.importorskip("ipywidgets")

pytest_plugins = ("magics_helpers",)


def test_wizard_and_browse_open_the_apps(duck):
    from segnb.widgets import SegmentBrowser, SegmentWizard

    app = run(duck, "%segnb wizard")
    assert isinstance(app, SegmentWizard) and app.entity.name == "users"
    assert isinstance(run(duck, "%segnb browse"), SegmentBrowser)


def test_each_app_opens_with_one_line(duck):
    import segnb.widgets as widgets

    ws = run(duck, "%segnb wizard").ws
    for app, cls in [("sets", "SetWizard"), ("upload", "UploadWizard"),
                     ("lookalike", "LookalikeWizard"), ("predict", "PredictWizard"),
                     ("rules", "SegmentWizard")]:  # fmt: skip
        opened = run(duck, f"%segnb wizard {app}")
        assert type(opened) is getattr(widgets, cls) and opened.ws is ws
    with pytest.raises(UsageError, match=r"no app 'lookalkie'; did you mean 'lookalike'"):
        run(duck, "%segnb wizard lookalkie")


def test_help_describes_the_apps(ip, capsys):
    run(ip, "%segnb help wizard")
    out = capsys.readouterr().out
    assert "SegmentWizard" in out and "live estimate" in out and "PredictWizard" in out
    run(ip, "%segnb help")
    assert "browse" in capsys.readouterr().out


def test_misspelt_enum_values_warn_in_the_magics(duck, capsys):
    assert run(duck, '%segment estimate city = "Shenzen" --as-of 2025-03-31') == 0
    out = capsys.readouterr().out
    assert "warning: city: no users have the value 'Shenzen'; did you mean 'Shenzhen'?" in out
    run(duck, '%segment estimate city = "Shenzhen" --as-of 2025-03-31')
    assert "warning" not in capsys.readouterr().out
