"""The report as one self-contained HTML page: every chart is an embedded PNG, every value is escaped."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from html import escape

from sparkify.report.analytics_queries import QueryResult
from sparkify.report.text_table import format_value, is_number

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }
h1 { margin-bottom: 0; } .meta { color: #666; margin-top: .25rem; }
section { margin-top: 2.5rem; } img { max-width: 100%; }
table { border-collapse: collapse; margin-top: 1rem; }
th, td { padding: .25rem .75rem; border-bottom: 1px solid #ddd; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
"""


def render_page(sections: Sequence[tuple[QueryResult, bytes | None]], generated_at: datetime, source: str) -> str:
    """`sections` pairs each result with its chart (PNG bytes, or None)."""
    toc = "".join(f'<li><a href="#{escape(r.query.name)}">{escape(r.query.title)}</a></li>' for r, _ in sections)
    body = "".join(_section(result, png) for result, png in sections)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>Sparkify analytics</title>\n"
        f"<style>{_STYLE}</style>\n</head>\n<body>\n<h1>Sparkify analytics</h1>\n"
        f'<p class="meta">Generated {escape(generated_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip())} '
        f"from {escape(source)}.</p>\n<ol>{toc}</ol>\n{body}</body>\n</html>\n"
    )


def _section(result: QueryResult, png: bytes | None) -> str:
    query = result.query
    parts = [f'<section id="{escape(query.name)}">', f"<h2>{escape(query.title)}</h2>"]
    if query.description:
        parts.append(f"<p>{escape(query.description)}</p>")
    if png:
        encoded = base64.b64encode(png).decode("ascii")
        parts.append(f'<img alt="{escape(query.title)} chart" src="data:image/png;base64,{encoded}">')
    parts.append(_table(result))
    parts.append("</section>\n")
    return "\n".join(parts)


def _table(result: QueryResult) -> str:
    if not result.rows:
        return "<p><em>No rows.</em></p>"
    head = "".join(f"<th>{escape(column)}</th>" for column in result.columns)
    rows = "".join("<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in result.rows)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>{rows}</tbody>\n</table>"


def _cell(value: object) -> str:
    css = ' class="number"' if is_number(value) else ""
    return f"<td{css}>{escape(format_value(value))}</td>"
