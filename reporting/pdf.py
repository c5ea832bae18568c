"""HTML to PDF with WeasyPrint: the page templates set the protective marking in the page margins (CSS
@page), so it is on every page. Nothing outside the document is fetched: a URL fetcher that refuses all
requests keeps a template (or text typed into it) from reaching the network or the file system."""
from __future__ import annotations

from typing import Any


class _NoFetching(Exception):
    """A document asked for an outside resource."""


def _refuse(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise _NoFetching(f"outside resources are not fetched ({url[:60]})")


def html_to_pdf(html: str) -> bytes:
    """The PDF of one self-contained HTML document (styles inline)."""
    from weasyprint import HTML   # imported here: loading Pango costs a moment nobody else should pay

    return HTML(string=html, url_fetcher=_refuse, base_url="about:blank").write_pdf()
