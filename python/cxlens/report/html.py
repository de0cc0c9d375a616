"""Writes a :class:`~cxlens.report.analyses.Report` as one self-contained HTML file plus tables.

:func:`write_report` writes ``out_dir/index.html`` (inline CSS and inline SVG figures; no
script, no external URL) and every table of the report as Parquet (pyarrow) and CSV under
``out_dir/tables/``. The HTML shows at most a few rows of each table; the files hold all rows.
Customer keys appear only in the at-risk list and the outreach plan (the business's own ids).
"""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._contract import Note, _peak_rss_mb
from .analyses import Report, Section

__all__ = ["write_report"]

#: Rows of a table shown in the HTML (the Parquet and CSV files hold every row).
HTML_ROWS = 15

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0 auto;
max-width:1100px;padding:1em 2em;color:#222;line-height:1.45}
h1{border-bottom:3px solid #345;padding-bottom:.2em}h2{border-bottom:1px solid #bbb;margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0 1em}
th,td{border:1px solid #ccc;padding:.2em .5em;text-align:right}th{background:#eef}
td:first-child,th:first-child{text-align:left}
.note-skipped{color:#a00}.note-warning{color:#a60}.note-info{color:#357}
.status{font-size:.8em;padding:.1em .5em;border-radius:.5em;margin-left:.5em}
.status-done{background:#dfd}.status-warning{background:#ffd}.status-skipped{background:#fdd}
figure{margin:1em 0}figcaption{font-size:.85em;color:#555}
.meta{font-size:.9em;color:#444}.numbers li{font-variant-numeric:tabular-nums}
svg{max-width:100%;height:auto}
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _fmt(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{_e(k)}: {_fmt(v)}" for k, v in value.items())
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not np.isfinite(v):
            return "unknown" if np.isnan(v) else str(v)
        if v == 0 or v.is_integer() and abs(v) < 1e15:
            return f"{v:,.0f}"
        if 0 < abs(v) < 1:
            return f"{v:.3f}"
        return f"{v:,.2f}" if abs(v) < 1e4 else f"{v:,.0f}"
    return _e(value)


def _table_html(frame: pd.DataFrame, rows: int = HTML_ROWS) -> str:
    shown = frame.head(rows)
    if isinstance(shown.index, pd.RangeIndex):
        shown = shown.reset_index(drop=True)
    formatters = {c: (lambda v: _fmt(v)) for c in shown.columns
                  if pd.api.types.is_float_dtype(shown[c].dtype)}
    text = shown.to_html(index=not isinstance(shown.index, pd.RangeIndex), escape=True,
                         border=0, na_rep="unknown", formatters=formatters)  # type: ignore[arg-type]
    if len(frame) > rows:
        text += f"<p class=meta>{rows} of {len(frame):,} rows shown.</p>"
    return text


def _notes_html(notes: list[Note]) -> str:
    if not notes:
        return "<p class=meta>Nothing to note.</p>"
    items = "".join(f"<li class=note-{_e(n.level)}><b>{_e(n.level)}</b> [{_e(n.stage)}]: "
                    f"{_e(n.message)}</li>" for n in notes)
    return f"<ul>{items}</ul>"


def _section_html(section: Section, report: Report) -> str:
    parts = [f"<section id={_e(section.id)}><h2>{_e(section.title)}"
             f"<span class='status status-{_e(section.status)}'>{_e(section.status)}</span>"
             "</h2>", f"<p><b>What it shows:</b> {_e(section.shows)}</p>"]
    if section.data:
        parts.append(f"<p class=meta><b>Data and window:</b> {_e(section.data)}</p>")
    if section.notes:
        parts.append(_notes_html(section.notes))
    if section.numbers:
        items = "".join(f"<li>{_e(k.replace('_', ' '))}: {_fmt(v)}</li>"
                        for k, v in section.numbers.items())
        parts.append(f"<ul class=numbers>{items}</ul>")
    for figure in section.figures:
        parts.append(f"<figure>{figure.svg}<figcaption><b>{_e(figure.title)}.</b> "
                     f"{_e(figure.caption)}</figcaption></figure>")
    for name in section.tables:
        frame = report.tables[name]
        parts.append(f"<h3>{_e(name)}</h3><p class=meta>tables/{_e(name)}.parquet, "
                     f"tables/{_e(name)}.csv ({len(frame):,} rows)</p>")
        if name == "customer_scores":
            parts.append("<p class=meta>One row per customer: in the files only.</p>")
            continue
        parts.append(_table_html(frame))
    if section.used:
        items = "".join(f"<li>{_e(u)}</li>" for u in section.used)
        parts.append(f"<details><summary>Inputs used</summary><ul>{items}</ul></details>")
    parts.append("</section>")
    return "\n".join(parts)


def _identity_html(identity: dict[str, Any]) -> str:
    """Counts of the identity summary only: tables in it (the lineage: record ids) and other
    values are left out of the HTML."""
    parts = []
    for key, value in identity.items():
        if isinstance(value, (bool, int, float, np.integer, np.floating)):
            parts.append(f"{_e(str(key).replace('_', ' '))} {_fmt(value)}")
        elif isinstance(value, dict) and all(
                isinstance(v, (int, float, np.integer, np.floating)) for v in value.values()):
            parts.append(f"{_e(str(key).replace('_', ' '))} ({_fmt(value)})")
    return "; ".join(parts) or "not run"


def _tabular(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy Parquet and CSV can hold: the index as columns when it is not a plain range,
    columns named by text, object columns of mixed values as text."""
    out = frame if isinstance(frame.index, pd.RangeIndex) else frame.reset_index()
    out = out.copy()
    out.columns = [str(c) for c in out.columns]
    for column in out.columns:
        if out[column].dtype == object:
            values = out[column]
            if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
                out[column] = values.map(lambda v: None if v is None else str(v))
    return out


def _write_table(data: pd.DataFrame, stem: Path) -> None:
    """Parquet and CSV through one Arrow table (pyarrow's CSV writer is many times faster than
    pandas' on the million-row per-customer tables)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(data, preserve_index=False)
    pq.write_table(table, stem.with_suffix(".parquet"))
    # CSV holds plain values: categories as their labels.
    columns = [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c
               for c in table.columns]
    pacsv.write_csv(pa.Table.from_arrays(columns, names=table.column_names),
                    stem.with_suffix(".csv"))


def write_report(report: Report, out_dir: Path | str) -> Path:
    """Writes ``out_dir/index.html`` (one self-contained file) and every table as Parquet and
    CSV under ``out_dir/tables/``; returns the path of the HTML file."""
    wall = time.perf_counter()
    out = Path(out_dir)
    tables_dir = out / "tables"
    tables_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in report.tables.items():
        _write_table(_tabular(frame), tables_dir / name)
    s = report.inputs_summary
    toc = "".join(f"<li><a href='#{_e(sec.id)}'>{_e(sec.title)}</a> "
                  f"<span class='status status-{_e(sec.status)}'>{_e(sec.status)}</span></li>"
                  for sec in report.sections)
    summary = "".join(f"<li>{_e(line)}</li>" for line in report.summary_lines())
    keys = ("Customer keys are salted hashes (identity resolution hashed them)."
            if s.get("keys_hashed") else
            "Customer keys are the business's own ids as given; they appear only in the "
            "at-risk list and the outreach plan.")
    if "sources" in report.tables:
        sources = "<h3>Sources</h3>" + _table_html(report.tables["sources"], rows=200)
    else:
        sources = ("<p class=meta>No source table account was given (the event log was built "
                   "directly).</p>")
    stages = report.stages.table()
    stage_html = _table_html(stages, rows=len(stages) + 1) if len(stages) else "<p>-</p>"
    body = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width, initial-scale=1'>",
        "<title>cxlens report</title>", f"<style>{_CSS}</style></head><body>",
        "<h1>cxlens report</h1>",
        f"<p class=meta>{_fmt(s['customers'])} customers, {_fmt(s['events'])} events, "
        f"{s['channels']} channels; window {_e(s['window'])}; events from "
        f"{_e(s['first_event'])} to {_e(s['last_event'])}. {_e(keys)}</p>",
        f"<ul>{summary}</ul>",
        "<nav><h2 id=contents>Contents</h2><ol>",
        "<li><a href='#notes'>What this report could and could not do</a></li>",
        toc, "<li><a href='#run'>Sources, rejected rows, stage timings</a></li></ol></nav>",
        "<section id=notes><h2>What this report could and could not do</h2>",
        _notes_html(report.notes), "</section>",
    ]
    body += [_section_html(sec, report) for sec in report.sections]
    body += [
        "<section id=run><h2>Sources, rejected rows, stage timings</h2>", sources,
        f"<p class=meta>Rows rejected while building the event log: "
        f"{_fmt(s['rows_rejected'])}. Identity resolution: {_identity_html(s['identity'])}.</p>",
        "<h3>Stage timings</h3>", stage_html,
        f"<p class=meta>Peak memory {_peak_rss_mb():,.0f} MB; tables written in "
        f"{time.perf_counter() - wall:.1f} s.</p>",
        "</section></body></html>",
    ]
    path = out / "index.html"
    path.write_text("\n".join(body), encoding="utf-8")
    return path
