"""UploadWizard: a custom-list segment from a CSV, TSV or Excel file of ids."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

import ipywidgets as w
import traitlets as t

from segnb.errors import SegnbError, UploadError
from segnb.widgets._base import GOOD, MUTED, App, AppState, message_html

__all__ = ["UploadWizard", "UploadWizardState"]

ACCEPT = ".csv,.tsv,.txt,.xlsx,.xlsm"


class UploadWizardState(AppState):
    """State of :class:`UploadWizard`: ``id_type``, the loaded ``file`` and the match ``report``.

    ``report`` holds ``matched``, ``unmatched``, ``duplicates`` and
    ``malformed`` (and ``rows``) after Create, also when it is refused.
    """

    id_type = t.Unicode("")
    file = t.Unicode("")
    report = t.Dict()
    unmatched_file = t.Unicode("")


class UploadWizard(App):
    """Upload a list of ids; see how many matched; download the unmatched ones.

    Examples
    --------
    >>> app = UploadWizard(ws); app.load("ids.csv"); app.state.id_type = "device_id"  # doctest: +SKIP
    >>> app.state.name = "crm"; seg = app.create(); app.state.report                  # doctest: +SKIP
    """

    state_class = UploadWizardState
    #: where uploaded files are kept (refreshes read them again) and unmatched ids written
    folder = "uploads"

    def __init__(self, ws: Any, entity: str | None = None, **kwargs: Any) -> None:
        super().__init__(ws, **kwargs)
        self.add_class("segnb-upload-wizard")
        self.entity = ws.entity(entity)
        s = self.state
        id_types = [self.entity.id, *[c for c in self.entity.id_columns if c != self.entity.id]]
        s.id_type = id_types[0]
        self.file_box = w.FileUpload(accept=ACCEPT, multiple=False, description="Choose file")
        self.file_box.observe(self._uploaded, "value")
        kind = w.Dropdown(options=id_types, description="Id type", layout=w.Layout(width="300px"))
        w.link((s, "id_type"), (kind, "value"))
        self._file = w.HTML(message_html("no file yet", MUTED))
        self._report = w.HTML()
        self._report.add_class("segnb-report")
        self.create_button = w.Button(
            description="Upload and create",
            button_style="primary",
            icon="upload",
            layout=w.Layout(width="auto"),  # the default width cuts the label short
        )
        self.create_button.add_class("segnb-create")
        self.create_button.on_click(lambda _: self.create())
        self.unmatched_button = w.Button(description="Download unmatched ids", icon="download",
                                         layout=w.Layout(width="auto", display="none"))  # fmt: skip
        self.unmatched_button.on_click(lambda _: self.write_unmatched())
        self.children = [
            w.HTML(
                f"<h3 style='margin:4px 0'>Upload a list of {html.escape(self.entity.name)}</h3>"
            ),
            w.HBox([self.file_box, self._file]),
            kind,
            w.Accordion(
                children=[self.metadata_form()], titles=("Segment details",), selected_index=0
            ),
            w.HBox([self.create_button, self._status]),
            self._message,
            self._report,
            self.unmatched_button,
        ]
        s.observe(
            lambda ch: setattr(
                self._file, "value", message_html(ch["new"] or "no file yet", MUTED)
            ),
            "file",
        )
        s.observe(self._show_report, "report")

    def load(self, source: str | os.PathLike | bytes, filename: str | None = None) -> Path:
        """Take a file: a path, or its bytes with its ``filename`` (kept under :attr:`folder`)."""
        if isinstance(source, (bytes, bytearray, memoryview)):
            if not filename:
                raise UploadError("give the file name with the bytes (filename='ids.csv')")
            folder = Path(self.folder)
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / Path(filename).name
            path.write_bytes(bytes(source))
        else:
            path = Path(source).expanduser()
            if not path.exists():
                self.state.error = f"no file {str(path)!r}"
                raise UploadError(self.state.error)
        self.state.file = str(path)
        self.state.report = {}
        self.state.error = ""
        return path

    def _uploaded(self, change: Any) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0]
        try:
            self.load(item["content"], item["name"])
        except (SegnbError, OSError) as err:
            self.state.error = str(err)

    def check(self) -> list[str]:
        out = self.check_metadata()
        if not self.state.file:
            out.append("File: choose a CSV, TSV or Excel file of ids")
        return out

    def _create(self):
        s = self.state
        try:
            seg = self.ws.upload(s.name.strip(), s.file, id_type=s.id_type or None,
                                 entity=self.entity.name, as_of=s.as_of, **self.options())  # fmt: skip
        except UploadError as err:
            s.report = dict(err.report)
            raise
        s.report = dict(seg.report)
        self.segment = seg
        return seg

    def _show_report(self, change: Any) -> None:
        report = change["new"]
        self.unmatched_button.layout.display = "none"
        if not report:
            self._report.value = ""
            return
        keys = ("rows", "matched", "unmatched", "duplicates", "malformed")
        cells = "".join(f"<tr><th style='text-align:left;padding-right:12px'>{k}</th>"
                        f"<td class='segnb-report-{k}'>{int(report.get(k, 0) or 0):,}</td></tr>"
                        for k in keys if k in report)  # fmt: skip
        self._report.value = f"<b>Match report</b><table>{cells}</table>"
        if report.get("unmatched"):
            self.unmatched_button.layout.display = "flex"

    def write_unmatched(self) -> Path | None:
        """Write the unmatched ids of the created segment to a CSV and link it."""
        seg = getattr(self, "segment", None)
        if seg is None:
            self.state.error = "create the segment first"
            return None
        folder = Path(self.folder)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{seg.name}_unmatched.csv"
        seg.unmatched().to_pandas().to_csv(path, index=False)
        rel = os.path.relpath(path)
        self.state.unmatched_file = str(path)
        self._report.value += message_html(f"unmatched ids written to {rel}", GOOD) + (
            f'<a class="segnb-unmatched-link" href="{html.escape(rel)}" download>download {html.escape(path.name)}</a>'
        )
        return path
