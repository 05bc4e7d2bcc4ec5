"""`reports.html_to_pdf` pauses Python's cyclic garbage collector while WeasyPrint renders (about 12 % of a
casebook's CPU, docs/performance.md) and must always turn it back on: a process left with the collector off
would never free reference cycles again."""
import gc

import pytest

from monitoring import reports

HTML = "<!doctype html><html><body><p>Subject SZ-00001</p></body></html>"


def test_collector_paused_during_the_render_and_back_on_after(monkeypatch):
    """Breaking it shows: the collector still running during the render, or left off afterwards."""
    import weasyprint

    seen = []
    real_write_pdf = weasyprint.HTML.write_pdf

    def spy(self, *args, **kwargs):
        seen.append(gc.isenabled())
        return real_write_pdf(self, *args, **kwargs)

    monkeypatch.setattr(weasyprint.HTML, "write_pdf", spy)
    pdf = reports.html_to_pdf(HTML)
    assert pdf.startswith(b"%PDF-")
    assert seen == [False]
    assert gc.isenabled()


def test_collector_back_on_when_the_render_fails(monkeypatch):
    """Breaking it shows: an error inside WeasyPrint leaving the process without garbage collection."""
    import weasyprint

    def broken(self, *args, **kwargs):
        raise ValueError("layout failed")

    monkeypatch.setattr(weasyprint.HTML, "write_pdf", broken)
    with pytest.raises(ValueError, match="layout failed"):
        reports.html_to_pdf(HTML)
    assert gc.isenabled()
