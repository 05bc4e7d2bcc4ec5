"""The one CSV writer of the application: every CSV it hands out (form exports, long exports, the data
dictionary, the endpoints' analysis.csv) is written here, so no cell can run as a spreadsheet formula.

CSV formula injection (OWASP, "CSV Injection"): a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return is read by Excel and LibreOffice as a formula (``=HYPERLINK(...)``, ``@SUM(...)``,
``-2+3+cmd|...``). OWASP's remedy: prefix such a cell with a single quote, and quote every cell. Numbers
are left alone (a study day of ``-5`` or a change of ``-1.5`` stays a number); the ODM file keeps the raw
value. Hand-written rather than ``defusedcsv``: that library leaves tab and carriage return through and
rewrites ``|`` inside values.
"""
import csv
import io
import re
from collections.abc import Iterable, Iterator

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def neutralise(value) -> str:
    """A cell's text, with a leading quote when a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _NUMBER.match(text):
        return "'" + text
    return text


class _Echo:
    """A file whose write returns what it was given: csv.writer formats one row, the caller streams it."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable, rows: Iterable[Iterable]) -> Iterator[str]:
    """The CSV text, line by line (for a StreamingHttpResponse: constant memory whatever the rows)."""
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL, lineterminator="\n")
    yield writer.writerow([neutralise(cell) for cell in header])
    for row in rows:
        yield writer.writerow([neutralise(cell) for cell in row])


def csv_text(header: Iterable, rows: Iterable[Iterable]) -> str:
    """The whole CSV as one string (small files)."""
    out = io.StringIO()
    for line in csv_lines(header, rows):
        out.write(line)
    return out.getvalue()


def csv_dict_text(fieldnames: list[str], rows: Iterable[dict]) -> str:
    return csv_text(fieldnames, ([row.get(name, "") for name in fieldnames] for row in rows))


def csv_columns_text(header: list[str], columns: list[list[str]]) -> str:
    """Columns of text cells (the caller has written its numbers and dates as text) as one CSV string,
    header and cells neutralised as `neutralise` does and every cell quoted, as `csv_text` writes them: the
    same rule, applied once per distinct value of a column rather than once per cell, for the submission
    datasets' hundreds of thousands of rows (tests/monitoring/test_csv_injection.py checks the two agree)."""
    safe = []
    for column in columns:
        rewritten = {value: neutralise(value) for value in set(column) if value.startswith(FORMULA_STARTS)}
        rewritten = {value: text for value, text in rewritten.items() if text != value}
        safe.append([rewritten.get(value, value) for value in column] if rewritten else column)
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow([neutralise(name) for name in header])
    writer.writerows(zip(*safe, strict=True))
    return out.getvalue()
