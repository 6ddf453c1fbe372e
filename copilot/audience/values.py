"""How contact attributes and timestamps are written: one format for the generator and the importer.

JSON attributes hold datetimes as ISO 8601 UTC text with seconds precision
(``2026-05-01T10:00:00+00:00``) and dates as ``YYYY-MM-DD``, so text comparison
orders them in time on SQLite and ``::timestamptz`` casts them on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np

__all__ = ["attribute_datetime", "attribute_date", "sql_timestamps", "sql_timestamp"]


def attribute_datetime(value: datetime) -> str:
    """An aware datetime as stored in ``Contact.attributes``."""
    return value.astimezone(UTC).replace(microsecond=0).isoformat()


def attribute_date(value: date) -> str:
    return value.isoformat()


def sql_timestamps(epoch_seconds: np.ndarray, dialect: str) -> list[str]:
    """UTC epoch seconds -> the text a timestamp column takes in bulk writes.

    SQLite: exactly what SQLAlchemy's DateTime writes (``YYYY-MM-DD HH:MM:SS.ffffff``),
    so rows from bulk writes and from the ORM compare alike; PostgreSQL: ISO text
    with an explicit UTC offset for timestamptz.
    """
    text = np.datetime_as_string(epoch_seconds.astype("datetime64[s]"), unit="s").tolist()
    if dialect == "sqlite":
        return [f"{s[:10]} {s[11:]}.000000" for s in text]
    return [s + "+00" for s in text]


def sql_timestamp(value: datetime, dialect: str) -> str:
    """One aware datetime as ``sql_timestamps`` writes it (microseconds kept)."""
    text = value.astimezone(UTC).isoformat(sep=" " if dialect == "sqlite" else "T", timespec="microseconds")
    return text[:26] if dialect == "sqlite" else text
