"""Check one CSV row of contacts or events against a workspace's catalog.

Pure functions of (header, row, catalog), no database: the importer runs them once
per row in its checking pass and spools the parsed rows for the writing pass.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from email_validator import EmailNotValidError, validate_email

from copilot.audience.values import attribute_datetime
from copilot.models import CONSENT_STATES
from copilot.text import identifier
from copilot.workspace import CONTACT_COLUMNS, Workspace

__all__ = ["RowProblem", "ContactRow", "EventRow", "ContactSchema", "EventSchema", "parse_timestamp"]

_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}
_INT = re.compile(r"^[+-]?\d+$")
_LOCALE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
# Clock skew tolerated before a timestamp counts as "in the future".
_FUTURE_SLACK = timedelta(days=1)


class RowError(ValueError):
    """A cell's value is unusable; ``column`` names the cell."""

    def __init__(self, column: str | None, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


@dataclass(frozen=True)
class RowProblem:
    """Why the row starting at ``line`` (1 = the header) cannot be imported."""

    line: int
    message: str
    column: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "message": self.message}

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def parse_timestamp(text: str, column: str, *, now: datetime | None = None) -> datetime:
    """ISO 8601 text -> aware UTC datetime; without an offset it is read as UTC.

    With ``now``, a time more than a day after it is refused (something that happened
    cannot be in the future; other datetime attributes may be).
    """
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise RowError(column, f"{column} {text!r} is not an ISO 8601 timestamp (e.g. 2026-11-02T14:30:00Z)") \
            from None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if now is not None and value > now + _FUTURE_SLACK:
        raise RowError(column, f"{column} {text!r} is in the future")
    return value


def coerce(column: str, type_: str, values: list[str], text: str) -> Any:
    """A non-empty cell as the catalog type wants it stored (JSON-ready)."""
    match type_:
        case "string":
            return text
        case "integer":
            if not _INT.match(text):
                raise RowError(column, f"{column} must be a whole number, got {text!r}")
            return int(text)
        case "number":
            try:
                number = float(text)
            except ValueError:
                raise RowError(column, f"{column} must be a number, got {text!r}") from None
            if not math.isfinite(number):
                raise RowError(column, f"{column} must be a finite number, got {text!r}")
            return number
        case "boolean":
            lowered = text.lower()
            if lowered in _TRUE or lowered in _FALSE:
                return lowered in _TRUE
            raise RowError(column, f"{column} must be true or false, got {text!r}")
        case "date":
            try:
                return date.fromisoformat(text).isoformat()
            except ValueError:
                raise RowError(column, f"{column} must be a date like 2026-11-02, got {text!r}") from None
        case "datetime":
            return attribute_datetime(parse_timestamp(text, column))
        case "enum":
            for allowed in values:
                if allowed.lower() == text.lower():
                    return allowed
            raise RowError(column, f"{column} must be one of {', '.join(values)}, got {text!r}")
        case "list":
            return [part.strip() for part in text.split("|") if part.strip()]
    raise RowError(column, f"{column} has an unsupported type {type_!r}")  # pragma: no cover


def _email(text: str) -> str:
    if not text:
        raise RowError("email", "email is empty")
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise RowError("email", f"bad email {text!r}: {exc}") from None


_NOT_UTF8 = "not UTF-8 text (save the file as UTF-8 CSV)"


def _is_utf8(fields: list[str]) -> bool:
    """False when the reader kept undecodable bytes (as lone surrogates)."""
    for text in fields:
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


class _Schema:
    """Header handling shared by both kinds of file."""

    kind = ""
    required: tuple[str, ...] = ()

    def __init__(self, workspace: Workspace, header: list[str], *, now: datetime) -> None:
        self.workspace = workspace
        self.now = now
        # 'First Name' is the catalog's first_name (the same names `copilot workspace draft` gives).
        self.columns = [identifier(name) or name.strip().lower() for name in header]
        self.header_problems: list[RowProblem] = []
        if not _is_utf8(header):
            self.header_problems.append(RowProblem(1, _NOT_UTF8))
        seen: set[str] = set()
        for name in self.columns:
            if name in seen:
                self.header_problems.append(RowProblem(1, f"column {name!r} appears twice in the header", name))
            seen.add(name)
        for name in self.required:
            if name not in seen:
                self.header_problems.append(RowProblem(1, f"missing required column {name!r}", name))
        for name in self.columns:
            if name and name not in self.required and not self.known(name):
                self.header_problems.append(RowProblem(1, self.unknown_message(name), name))
            if not name:
                self.header_problems.append(RowProblem(1, "a header cell is empty", None))

    def known(self, name: str) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    def unknown_message(self, name: str) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def cells(self, fields: list[str]) -> dict[str, str]:
        if not _is_utf8(fields):
            raise RowError(None, _NOT_UTF8)
        if len(fields) != len(self.columns):
            raise RowError(None, f"expected {len(self.columns)} fields like the header, found {len(fields)}")
        # Blank cells mean "no value": on re-import they leave what is stored alone.
        return {name: text.strip() for name, text in zip(self.columns, fields, strict=True) if text.strip()}


@dataclass
class ContactRow:
    email: str
    consent: str
    columns: dict[str, Any] = field(default_factory=dict)  # contact table columns other than email/consent
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> bytes:
        return self.email.encode()


class ContactSchema(_Schema):
    kind = "contacts"
    required = ("email", "consent")

    def known(self, name: str) -> bool:
        return self.workspace.field(name) is not None

    def unknown_message(self, name: str) -> str:
        return f"unknown column {name!r}: not a field of the {self.workspace.slug!r} catalog"

    def row(self, fields: list[str]) -> ContactRow:
        cells = self.cells(fields)
        errors = _Errors()
        email = errors.check(lambda: _email(cells.pop("email", "")))
        consent = cells.pop("consent", "").lower()
        if consent not in CONSENT_STATES:
            errors.add(RowError("consent", f"unknown consent state {consent!r}; expected one of "
                                           f"{', '.join(CONSENT_STATES)}"))
        columns: dict[str, Any] = {}
        attributes: dict[str, Any] = {}
        for name, text in cells.items():
            if name in CONTACT_COLUMNS:
                columns[name] = errors.check(lambda n=name, t=text: self._column(n, t))
            else:
                spec = self.workspace.field(name)
                assert spec is not None  # the header check refused unknown columns
                attributes[name] = errors.check(
                    lambda s=spec, t=text: coerce(s.name, s.type, s.values, t))
        errors.raise_any()
        return ContactRow(email=email, consent=consent, columns=columns, attributes=attributes)

    def _column(self, name: str, text: str) -> Any:
        if name == "country":
            if not re.fullmatch(r"[A-Za-z]{2}", text):
                raise RowError(name, f"country must be a two-letter code like US, got {text!r}")
            return text.upper()
        if name == "timezone":
            if text not in _timezones():
                raise RowError(name, f"unknown time zone {text!r}; use an IANA name like Europe/Berlin")
            return text
        if name == "locale":
            if not _LOCALE.match(text) or len(text) > 16:
                raise RowError(name, f"locale must look like en or de-AT, got {text!r}")
            return text
        if name == "signed_up_at":
            return parse_timestamp(text, name, now=self.now)
        if len(text) > 200:
            raise RowError(name, f"{name} is longer than 200 characters")
        return text


@dataclass
class EventRow:
    email: str
    name: str
    occurred_at: datetime
    category: str | None
    product: str | None
    value: float | None
    properties: dict[str, Any]

    @property
    def key(self) -> bytes:
        return repr((self.email, self.name, self.occurred_at.isoformat(), self.category, self.product, self.value,
                     sorted(self.properties.items()))).encode()


class EventSchema(_Schema):
    kind = "events"
    required = ("email", "event", "occurred_at")

    def known(self, name: str) -> bool:
        return any(p.name == name for e in self.workspace.catalog.events for p in e.properties)

    def unknown_message(self, name: str) -> str:
        return f"unknown column {name!r}: not a property of any event in the {self.workspace.slug!r} catalog"

    def row(self, fields: list[str]) -> EventRow:
        cells = self.cells(fields)
        for name in self.required:
            if name not in cells:
                raise RowError(name, f"{name} is empty")
        errors = _Errors()
        email = cells.pop("email").lower()
        name = cells.pop("event")
        spec = self.workspace.event(name) or self.workspace.event(identifier(name))  # 'Order Completed'
        if spec is None:
            raise RowError("event", f"unknown event {name!r}; the catalog has "
                                    f"{', '.join(e.name for e in self.workspace.catalog.events)}")
        occurred_at = errors.check(lambda: parse_timestamp(cells.pop("occurred_at"), "occurred_at", now=self.now))
        declared = {p.name: p for p in spec.properties}
        props: dict[str, Any] = {}
        for prop, text in cells.items():
            if prop not in declared:
                errors.add(RowError(prop, f"{prop!r} is not a property of event {name!r}"))
                continue
            p = declared[prop]
            props[prop] = errors.check(lambda p=p, t=text: coerce(p.name, p.type, p.values, t))
        value = props.pop("value", None)
        if value is not None and not isinstance(value, (int, float)):
            errors.add(RowError("value", "value must be a number"))
        category, product = props.pop("category", None), props.pop("product", None)
        for column, cell, limit in (("category", category, 64), ("product", product, 128)):
            if cell is not None and (not isinstance(cell, str) or len(cell) > limit):
                errors.add(RowError(column, f"{column} must be text of at most {limit} characters"))
        errors.raise_any()
        return EventRow(email=email, name=spec.name, occurred_at=occurred_at, category=category, product=product,
                        value=None if value is None else float(value), properties=props)


class _Errors:
    """Collects every problem of one row, so the report names them all at once."""

    def __init__(self) -> None:
        self.errors: list[RowError] = []

    def add(self, error: RowError) -> None:
        self.errors.append(error)

    def check(self, compute: Callable[[], Any]) -> Any:
        try:
            return compute()
        except RowError as exc:
            self.errors.append(exc)
            return None

    def raise_any(self) -> None:
        if self.errors:
            first = self.errors[0]
            raise RowError(first.column, "; ".join(e.message for e in self.errors))
