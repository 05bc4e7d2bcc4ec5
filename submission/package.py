"""The files of a package, from the rows and `submission.metadata`: SAS XPORT v5 (pyreadstat), a CSV
copy of each dataset (through the application's one CSV writer), and the ZIP that holds them with
define.xml."""
import datetime
import io
import os
import tempfile
import zipfile
from collections.abc import Callable

import pandas as pd
import pyreadstat

from monitoring.csv_safe import csv_frame_text

from . import metadata as md

SAS_EPOCH = datetime.date(1960, 1, 1)


def dataframe(dataset: md.Dataset, rows: list[dict]) -> pd.DataFrame:
    """The rows as a DataFrame in the metadata's variable order: character variables as text (null
    is ""), numbers as floats (null is NaN), ADaM dates as dates."""
    columns = {}
    for variable in dataset.variables:
        values = [row.get(variable.name) for row in rows]
        if variable.is_character:
            columns[variable.name] = pd.Series(["" if v is None else str(v) for v in values], dtype=object)
        elif variable.kind == md.DATE:
            columns[variable.name] = pd.Series(values, dtype=object)
        else:
            columns[variable.name] = pd.Series([float("nan") if v is None else float(v) for v in values],
                                               dtype="float64")
    return pd.DataFrame(columns)


def character_lengths(dataset: md.Dataset, rows: list[dict]) -> dict[str, int]:
    """The length of each character variable: its longest value (1 when all are null), as FDA's
    guidance asks and as the XPT file stores it."""
    return {v.name: max([len(str(row.get(v.name) or "")) for row in rows] + [1])
            for v in dataset.variables if v.is_character}


def xpt_bytes(dataset: md.Dataset, rows: list[dict]) -> bytes:
    """The dataset as a SAS XPORT version 5 file."""
    frame = dataframe(dataset, rows)
    formats = {v.name: "DATE9" for v in dataset.variables if v.kind == md.DATE}
    # pyreadstat writes to a path only.
    handle, path = tempfile.mkstemp(suffix=".xpt")
    os.close(handle)
    try:
        pyreadstat.write_xport(frame, path, file_label=dataset.label, table_name=dataset.name,
                               column_labels=[v.label for v in dataset.variables], file_format_version=5,
                               variable_format=formats or None)
        with open(path, "rb") as written:
            return written.read()
    finally:
        os.unlink(path)


def _text(value) -> str:
    """A cell of the CSV copy: nulls empty, whole numbers without ".0", dates ISO 8601."""
    if value is None or value != value:  # None or NaN
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value.isoformat() if isinstance(value, datetime.date) else str(value)


def csv_copy(dataset: md.Dataset, rows: list[dict]) -> str:
    """The dataset as CSV through the application's CSV writer: the variable names, then each row."""
    frame = pd.DataFrame({
        v.name: pd.Series([row.get(v.name) or "" for row in rows] if v.is_character
                          else [_text(row.get(v.name)) for row in rows], dtype=object)
        for v in dataset.variables})
    return csv_frame_text(frame)


def zip_bytes(tables: dict[str, list[dict]], define_xml: bytes,
              on_dataset: Callable[[str], None] | None = None) -> bytes:
    """One .xpt and one .csv per dataset (lower-case names: dm.xpt, dm.csv) and define.xml; ``on_dataset``
    is told each dataset written (a job's progress)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, rows in tables.items():
            dataset = md.DATASETS[name]
            archive.writestr(dataset.filename, xpt_bytes(dataset, rows))
            archive.writestr(f"{name.lower()}.csv", csv_copy(dataset, rows))
            if on_dataset is not None:
                on_dataset(name)
        archive.writestr("define.xml", define_xml)
    return buffer.getvalue()
