"""The files of a package, from the rows and `submission.metadata`: SAS XPORT v5 (pyreadstat), a CSV
copy of each dataset (through the application's one CSV writer), the measures define.xml states (lengths,
significant digits), and the ZIP that holds them with define.xml.

Each dataset is turned into one DataFrame, and its XPT, its CSV and its measures are all read off that frame.
The datasets are independent of one another, so `build_datasets` writes them in parallel processes: a
package of 10,000 patients is over a million rows, and the XPT writer, the CSV writer and the mapping are
CPU-bound Python (docs/performance.md)."""
import io
import multiprocessing
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

import billiard
import numpy as np
import pandas as pd
import pyreadstat

from monitoring.csv_safe import csv_columns_text

from . import metadata as md


@dataclass(frozen=True)
class Measures:
    """What define.xml says of a variable's values: its longest text (1 when all are null, as the XPT file
    stores it) and, for a float, the most decimals among its values."""
    length: int = 1
    significant_digits: int = 0


@dataclass(frozen=True)
class DatasetMeasures:
    """The measures of a dataset's values: by variable and, for a --TESTCD / PARAMCD dataset, of its result
    variable by test code (value-level metadata). A variable or test code without values has none."""
    by_variable: dict[str, Measures] = field(default_factory=dict)
    by_test: dict[str, Measures] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetFiles:
    """One dataset as the package ships it: its XPT and CSV files and the measures of its values."""
    name: str
    xpt: bytes
    csv: bytes
    rows: int
    measures: DatasetMeasures


def dataframe(dataset: md.Dataset, rows: list[dict]) -> pd.DataFrame:
    """The rows as a DataFrame in the metadata's variable order: character variables as text (null
    is ""), numbers as floats (null is NaN), ADaM dates as dates."""
    columns = {}
    for variable in dataset.variables:
        values = [row.get(variable.name) for row in rows]
        if variable.is_character:
            if not all(type(value) is str for value in values):  # noqa: E721 - exact type: a str subclass too is recast
                values = ["" if value is None else str(value) for value in values]
            columns[variable.name] = pd.Series(values, dtype=object)
        elif variable.kind == md.DATE:
            columns[variable.name] = pd.Series(values, dtype=object)
        else:  # numpy reads None as NaN, and a Decimal through its float
            columns[variable.name] = pd.Series(np.array(values, dtype="float64"), dtype="float64")
    return pd.DataFrame(columns, index=pd.RangeIndex(len(rows)))


def _longest(values: Iterable[str]) -> int:
    return max(map(len, set(values)), default=0) or 1


def significant_digits(values: Iterable[float]) -> int:
    """The most decimals among the values (Define-XML's SignificantDigits of a float)."""
    digits = 0
    for value in set(values):  # each distinct value once
        if value is None or value != value:  # None or NaN
            continue
        exponent = Decimal(repr(float(value))).normalize().as_tuple().exponent
        digits = max(digits, -exponent if isinstance(exponent, int) and exponent < 0 else 0)
    return digits


def _measures(variable: md.Variable, column: pd.Series) -> Measures:
    if variable.is_character:
        return Measures(length=_longest(column.tolist()))
    if variable.kind == md.FLOAT:
        return Measures(length=8, significant_digits=significant_digits(column.dropna().tolist()))
    return Measures(length=8)


def measures(dataset: md.Dataset, frame: pd.DataFrame) -> DatasetMeasures:
    """The measures of each variable, and of the result variable for each test code."""
    by_variable = {variable.name: _measures(variable, frame[variable.name]) for variable in dataset.variables}
    by_test: dict[str, Measures] = {}
    if dataset.test_variable and dataset.result_variable and len(frame):
        result = dataset.variable(dataset.result_variable)
        for code, values in frame.groupby(dataset.test_variable, sort=False)[result.name]:
            by_test[str(code)] = _measures(result, values)
    return DatasetMeasures(by_variable=by_variable, by_test=by_test)



def _xpt(dataset: md.Dataset, frame: pd.DataFrame) -> bytes:
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


def xpt_bytes(dataset: md.Dataset, rows: list[dict]) -> bytes:
    """The dataset as a SAS XPORT version 5 file."""
    return _xpt(dataset, dataframe(dataset, rows))


def _number_text(column: pd.Series) -> list[str]:
    """Numbers as the CSV copy writes them: null empty, whole numbers without ".0", others as Python prints
    them (the shortest text that reads back as the same float), a column at a time."""
    values = column.to_numpy(dtype="float64")
    known = ~np.isnan(values)
    whole = known & (values == np.trunc(values)) & (np.abs(values) < 2**53)
    text = np.full(len(values), "", dtype=object)
    text[whole] = values[whole].astype(np.int64).astype(str)
    fractional = known & ~whole
    text[fractional] = [repr(value) for value in values[fractional].tolist()]
    return text.tolist()


def _csv(dataset: md.Dataset, frame: pd.DataFrame) -> str:
    columns = []
    for variable in dataset.variables:
        column = frame[variable.name]
        if variable.is_character:
            columns.append(column.tolist())
        elif variable.kind == md.DATE:
            columns.append(["" if value is None else value.isoformat() for value in column.tolist()])
        else:
            columns.append(_number_text(column))
    return csv_columns_text(dataset.names, columns)


def csv_copy(dataset: md.Dataset, rows: list[dict]) -> str:
    """The dataset as CSV through the application's CSV writer: the variable names, then each row (nulls
    empty, whole numbers without ".0", dates ISO 8601)."""
    return _csv(dataset, dataframe(dataset, rows))


def dataset_files(dataset: md.Dataset, rows: list[dict]) -> DatasetFiles:
    """The dataset's XPT, CSV and measures, all from one DataFrame of its rows."""
    frame = dataframe(dataset, rows)
    return DatasetFiles(name=dataset.name, xpt=_xpt(dataset, frame), csv=_csv(dataset, frame).encode(),
                        rows=len(rows), measures=measures(dataset, frame))


# What a worker process maps its datasets with: set in each worker as it starts (`_inherit`).
_tables_of: Callable[[tuple[str, ...]], dict[str, list[dict]]] | None = None


def _inherit(tables_of: Callable[[tuple[str, ...]], dict[str, list[dict]]]) -> None:
    """A worker's start. The worker is a fork of the building process: it has the records and the mapping
    already (nothing is pickled), and it must never use the parent's database connections, so it drops them
    (a query, were there one, would open its own)."""
    global _tables_of
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        connection.connection = None
    _tables_of = tables_of


def _group_files(group: tuple[str, ...]) -> list[DatasetFiles]:
    assert _tables_of is not None
    return [dataset_files(md.DATASETS[name], rows) for name, rows in _tables_of(group).items()]


def build_datasets(groups: list[tuple[str, ...]],
                   tables_of: Callable[[tuple[str, ...]], dict[str, list[dict]]], *,
                   processes: int = 1) -> Iterator[DatasetFiles]:
    """Each dataset's files, in the order they are done. ``tables_of(group)`` maps the datasets of one group
    (datasets mapped together, such as AE and SUPPAE) from the records; with more than one process the groups
    are mapped and written in forked worker processes, the heaviest first (the order of ``groups``)."""
    if processes <= 1 or len(groups) <= 1:
        for group in groups:
            yield from (dataset_files(md.DATASETS[name], rows) for name, rows in tables_of(group).items())
        return
    # Fork, not spawn: the workers start with the records in memory (copy-on-write) instead of reading them again.
    # A Celery worker's pool process is daemonic, and the standard library refuses to start children from one:
    # there billiard (Celery's own fork of multiprocessing) starts them. Elsewhere the standard library's pool,
    # which shuts down at once where billiard's polls for a second.
    daemonic = multiprocessing.current_process().daemon
    context = billiard.get_context("fork") if daemonic else multiprocessing.get_context("fork")
    with context.Pool(min(processes, len(groups)), initializer=_inherit, initargs=(tables_of,)) as pool:
        for files in pool.imap_unordered(_group_files, groups):
            yield from files


def zip_bytes(files: Iterable[DatasetFiles], define_of: Callable[[dict[str, DatasetMeasures]], bytes]) -> bytes:
    """One .xpt and one .csv per dataset (lower-case names: dm.xpt, dm.csv), each compressed into the ZIP as it
    comes (while the workers write the next ones), then define.xml, from the measures of every dataset."""
    buffer = io.BytesIO()
    measured: dict[str, DatasetMeasures] = {}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for dataset_files in files:
            dataset = md.DATASETS[dataset_files.name]
            archive.writestr(dataset.filename, dataset_files.xpt)
            archive.writestr(f"{dataset.name.lower()}.csv", dataset_files.csv)
            measured[dataset.name] = dataset_files.measures
        archive.writestr("define.xml", define_of(measured))
    return buffer.getvalue()
