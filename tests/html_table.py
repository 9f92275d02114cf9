"""An HTML page's table rows and paragraphs as a browser reads them (the text, entities decoded), for tests."""

from __future__ import annotations

from html.parser import HTMLParser


class PageText(HTMLParser):
    """`rows`: each `<tr>` as (its class, its cells' text); `paragraphs`: each `<p>`'s text, `<br>` as a newline."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[str]]] = []
        self.paragraphs: list[str] = []
        self._cell: list[str] | None = None
        self._paragraph: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append((dict(attrs).get("class") or "", []))
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "p":
            self._paragraph = []
        elif tag == "br" and self._paragraph is not None:
            self._paragraph.append("\n")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1][1].append("".join(self._cell))
            self._cell = None
        elif tag == "p" and self._paragraph is not None:
            self.paragraphs.append("".join(self._paragraph))
            self._paragraph = None

    def handle_data(self, data):
        for part in (self._cell, self._paragraph):
            if part is not None:
                part.append(data)


def page_text(page: str) -> PageText:
    parsed = PageText()
    parsed.feed(page)
    parsed.close()
    return parsed
