"""Field checks shared by the loaders: each failure is a DataError naming dataset, split and row."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from ..config import show_value
from .records import DataError, SkipCounter


def column_names(rows) -> list[str]:
    """Columns of a ``datasets.Dataset``, or the keys of the first row of a list of dicts."""
    names = getattr(rows, "column_names", None)
    return list(names) if names is not None else list(next(iter(rows), {}).keys())


def require_columns(columns: Iterable[str], needed: tuple[str, ...], dataset: str, split: str) -> None:
    """Fail before reading any row if the split lacks a column the loader needs."""
    missing = [c for c in needed if c not in set(columns)]
    if missing:
        raise DataError(dataset, split, None, f"missing column(s) {missing} (has: {sorted(columns)})")


def bad_row(dataset: str, split: str, index: int, message: str) -> DataError:
    """A DataError for the row at 0-based ``index``, numbered from 1 in the message as the lines of a
    JSON Lines file are (the record ids keep the 0-based index, which is the row's index in ``datasets``)."""
    return DataError(dataset, split, index + 1, message)


def wrong_field(row: dict, key: str, expectation: str) -> str:
    """The message for a field that is not ``expectation``: 'is missing' when the row lacks it or it is null
    (``datasets`` fills a field that some rows of a JSON file lack with null: the two cannot be told apart)."""
    if row.get(key) is None:
        return f"field {key!r} is missing (must be {expectation})"
    return f"field {key!r} must be {expectation}, got {show_value(row[key])}"


def numbered_rows(rows: Iterable[dict], counter: SkipCounter, max_rows: int = 0) -> Iterator[tuple[int, dict]]:
    """(row index, row) pairs, at most ``max_rows`` of them (0 = all), counted as read."""
    for index, row in enumerate(rows):
        if max_rows and index >= max_rows:
            return
        counter.read += 1
        yield index, row


def text(row: dict, key: str, dataset: str, split: str, index: int) -> str:
    """A string field (possibly empty: emptiness is the caller's policy)."""
    value = row.get(key)
    if not isinstance(value, str):
        raise bad_row(dataset, split, index, wrong_field(row, key, "a string"))
    return value


def choice(row: dict, key: str, allowed: tuple, dataset: str, split: str, index: int):
    """A label field that must take one of ``allowed`` values (bools are not ints here)."""
    value = row.get(key)
    if isinstance(value, bool) != isinstance(allowed[0], bool) or value not in allowed:
        raise bad_row(dataset, split, index, wrong_field(row, key, f"one of {list(allowed)}"))
    return value


def json_field(row: dict, key: str, dataset: str, split: str, index: int) -> Any:
    """A field holding a JSON document as a string (APPS); '' means absent and returns None."""
    raw = text(row, key, dataset, split, index)
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as err:
        raise bad_row(dataset, split, index, f"field {key!r} is not valid JSON ({err.msg} at char {err.pos})") from None
