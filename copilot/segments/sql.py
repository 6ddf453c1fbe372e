"""Compile plan rules into SQLAlchemy expressions over the contacts and events tables.

No SQL is built from strings: JSON attribute access is a small SQLAlchemy construct that
renders per dialect (``json_extract`` on SQLite, ``->>`` on PostgreSQL) with the key as a
quoted literal, so expression indexes on the same text can serve it. Every leaf is
two-valued (a missing value makes a comparison false, never NULL), so NOT is an exact
complement on both databases.

Longer than most modules on purpose: one compiler, one method per rule type, with the
per-dialect choices next to the rules that need them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from copilot.models import AGGREGATE_ALL_CATEGORIES, Contact, ContactAggregate, Event
from copilot.plan import (
    AllRule,
    AnyRule,
    ConsentRule,
    EventRule,
    EventWindow,
    FieldRule,
    LastPerformedRule,
    NotRule,
    Plan,
    PropertyFilter,
    Rule,
    SegmentRule,
)
from copilot.rules import parse_when
from copilot.workspace import CONTACT_COLUMNS, EVENT_COLUMNS, Workspace

__all__ = ["JsonValue", "JsonHasType", "JsonListContains", "RuleCompiler", "contacts", "events", "attribute_text",
           "canonical_when"]

contacts: sa.Table = Contact.__table__  # type: ignore[attr-defined]
events: sa.Table = Event.__table__  # type: ignore[attr-defined]
aggregates: sa.Table = ContactAggregate.__table__  # type: ignore[attr-defined]

_JSON_KINDS = {"string": "text", "enum": "text", "date": "text", "datetime": "text", "list": "text",
               "integer": "number", "number": "number", "boolean": "boolean"}


class JsonValue(ColumnElement[Any]):
    """One top-level key of a JSON column, as text, number or boolean (NULL when absent or mistyped)."""

    __visit_name__ = "json_value"
    inherit_cache = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("key", InternalTraversal.dp_string),
        ("kind", InternalTraversal.dp_string),
    ]

    def __init__(self, column: ColumnElement[Any], key: str, kind: str) -> None:
        self.column = column
        self.key = key
        self.kind = kind
        self.type = {"text": sa.String(), "number": sa.Float(), "boolean": sa.Boolean()}[kind]


class JsonListContains(ColumnElement[bool]):
    """True when the JSON array under ``key`` holds ``value``."""

    __visit_name__ = "json_list_contains"
    inherit_cache = True
    type = sa.Boolean()
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("key", InternalTraversal.dp_string),
        ("value", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any], key: str, value: str) -> None:
        self.column = column
        self.key = key
        self.value = sa.bindparam(None, value, type_=sa.String())


class JsonHasType(ColumnElement[bool]):
    """True when the JSON key holds a value of the kind (number, boolean) the catalog declares."""

    __visit_name__ = "json_has_type"
    inherit_cache = True
    type = sa.Boolean()
    _traverse_internals = JsonValue._traverse_internals

    def __init__(self, column: ColumnElement[Any], key: str, kind: str) -> None:
        self.column = column
        self.key = key
        self.kind = kind


def _lit(compiler: Any, text: str) -> str:
    return compiler.render_literal_value(text, sa.String())


@compiles(JsonValue, "sqlite")
def _json_value_sqlite(element: JsonValue, compiler: Any, **kw: Any) -> str:
    # json_extract already returns SQL numbers for JSON numbers and 1/0 for booleans.
    return f"json_extract({compiler.process(element.column, **kw)}, {_lit(compiler, '$.' + element.key)})"


@compiles(JsonValue, "postgresql")
def _json_value_pg(element: JsonValue, compiler: Any, **kw: Any) -> str:
    col = compiler.process(element.column, **kw)
    key = _lit(compiler, element.key)
    if element.kind == "text":
        return f"({col} ->> {key})"
    # A cast of mistyped text would abort the whole query; the type check turns it into NULL.
    json_type, cast = ("number", "double precision") if element.kind == "number" else ("boolean", "boolean")
    return f"(CASE WHEN jsonb_typeof({col} -> {key}) = '{json_type}' THEN CAST({col} ->> {key} AS {cast}) END)"


@compiles(JsonHasType, "sqlite")
def _has_type_sqlite(element: JsonHasType, compiler: Any, **kw: Any) -> str:
    # SQLite orders any text above any number, so "3" >= 2 would hold: check the JSON type.
    types = "('integer', 'real')" if element.kind == "number" else "('true', 'false')"
    # COALESCE: an absent key gives false, not NULL, so NOT around it stays exact.
    return f"coalesce(json_type({compiler.process(element.column, **kw)}, {_lit(compiler, '$.' + element.key)}) IN {types}, 0)"


@compiles(JsonHasType, "postgresql")
def _has_type_pg(element: JsonHasType, compiler: Any, **kw: Any) -> str:
    json_type = "number" if element.kind == "number" else "boolean"
    return f"COALESCE(jsonb_typeof({compiler.process(element.column, **kw)} -> {_lit(compiler, element.key)}) = '{json_type}', false)"


@compiles(JsonListContains, "sqlite")
def _list_contains_sqlite(element: JsonListContains, compiler: Any, **kw: Any) -> str:
    col = compiler.process(element.column, **kw)
    return (f"EXISTS (SELECT 1 FROM json_each({col}, {_lit(compiler, '$.' + element.key)}) AS je "
            f"WHERE je.value = {compiler.process(element.value, **kw)})")


@compiles(JsonListContains, "postgresql")
def _list_contains_pg(element: JsonListContains, compiler: Any, **kw: Any) -> str:
    col = compiler.process(element.column, **kw)
    key = _lit(compiler, element.key)
    value = compiler.process(element.value, **kw)
    # COALESCE keeps it two-valued when the key is absent, so NOT stays an exact complement.
    return (f"COALESCE(jsonb_typeof({col} -> {key}) = 'array' AND "
            f"({col} -> {key}) @> jsonb_build_array(CAST({value} AS text)), false)")


def attribute_text(name: str) -> JsonValue:
    """The text of contact attribute ``name``: the expression the attribute indexes are built on."""
    return JsonValue(contacts.c.attributes, name, "text")


def canonical_when(value: object, ftype: str) -> str:
    """A date or date-time as stored in JSON attributes (UTC, seconds), so text order is time order."""
    when = parse_when(value) if not isinstance(value, (date, datetime)) else value
    if when is None:
        raise ValueError(f"not an ISO date: {value!r}")
    if ftype == "date":
        return (when.date() if isinstance(when, datetime) else when).isoformat()
    if not isinstance(when, datetime):
        when = datetime.combine(when, time(0), UTC)
    return when.astimezone(UTC).replace(microsecond=0).isoformat()


def _as_datetime(value: object) -> datetime:
    when = parse_when(value) if not isinstance(value, (date, datetime)) else value
    if when is None:
        raise ValueError(f"not an ISO date: {value!r}")
    if not isinstance(when, datetime):
        return datetime.combine(when, time(0), UTC)
    return when.astimezone(UTC)


class _Operand:
    """A value a rule compares: its SQL expression, catalog type, and whether it can be NULL."""

    def __init__(self, expr: ColumnElement[Any], ftype: str, *, nullable: bool, key: str = "",
                 json_column: ColumnElement[Any] | None = None, native_time: bool = False) -> None:
        self.expr = expr
        self.ftype = ftype
        self.nullable = nullable
        self.key = key
        self.json_column = json_column
        self.native_time = native_time  # a timestamp column rather than ISO text


def _present(x: _Operand, cond: ColumnElement[bool]) -> ColumnElement[bool]:
    if not x.nullable:
        return cond
    kind = getattr(x.expr, "kind", "text")
    if isinstance(x.expr, JsonValue) and kind != "text":
        assert x.json_column is not None
        return sa.and_(JsonHasType(x.json_column, x.key, kind), cond)
    return sa.and_(x.expr.is_not(None), cond)


def compare(x: _Operand, op: str, value: Any, now: datetime) -> ColumnElement[bool]:
    """``x op value`` as a two-valued SQL condition (false when x is missing, except for negations)."""
    if op in {"ne", "not_in", "not_exists"}:
        positive = {"ne": "eq", "not_in": "in", "not_exists": "exists"}[op]
        return sa.not_(compare(x, positive, value, now))
    if op == "exists":
        if x.ftype in {"string", "enum"}:
            return _present(x, sa.func.trim(x.expr) != "")
        return _present(x, sa.true()) if x.nullable else sa.true()
    if op == "contains":
        if x.ftype == "list":
            assert x.json_column is not None
            return JsonListContains(x.json_column, x.key, str(value))
        return _present(x, x.expr.icontains(str(value), autoescape=True))
    if op in {"older_than_days", "within_last_days"}:
        cutoff = now - timedelta(days=int(value))
        low, high = (_time_bound(x, cutoff), _time_bound(x, now))
        if op == "older_than_days":
            return _present(x, x.expr < low)
        return _present(x, sa.and_(x.expr >= low, x.expr <= high))
    if op == "within_next_days":
        start = datetime.combine(now.date(), datetime.min.time(), tzinfo=now.tzinfo) if x.ftype == "date" else now
        low, high = _time_bound(x, start), _time_bound(x, now + timedelta(days=int(value)))
        return _present(x, sa.and_(x.expr >= low, x.expr <= high))
    if op == "anniversary_within_days":
        # Month and day as text ("12-07") from an ISO value, a SQLite text column or a PostgreSQL
        # timestamp cast to text alike; matched against the next ``value`` days' month-days.
        days = [(now + timedelta(days=i)).strftime("%m-%d") for i in range(int(value) + 1)]
        if "02-28" in days and "03-01" in days:
            days.append("02-29")  # a February 29 birthday comes round when the 28th does
        return _present(x, sa.func.substr(sa.cast(x.expr, sa.String), 6, 5).in_(days))
    bound = [_bound(x, v) for v in value] if isinstance(value, list) else _bound(x, value)
    if op == "eq":
        return _present(x, x.expr == bound)
    if op == "in":
        return _present(x, x.expr.in_(bound))
    if op == "between":
        return _present(x, x.expr.between(bound[0], bound[1]))
    comparisons = {"lt": x.expr < bound, "lte": x.expr <= bound, "gt": x.expr > bound, "gte": x.expr >= bound}
    return _present(x, comparisons[op])


def _bound(x: _Operand, value: Any) -> Any:
    if x.ftype in {"date", "datetime"}:
        return _as_datetime(value) if x.native_time else canonical_when(value, x.ftype)
    if x.ftype in {"integer", "number"}:
        return float(value)
    return value


def _time_bound(x: _Operand, when: datetime) -> Any:
    return when if x.native_time else canonical_when(when, x.ftype)


class RuleCompiler:
    """Compiles one plan's rules for one workspace, database dialect and ``now``.

    PostgreSQL gets EXISTS / NOT EXISTS everywhere: its planner turns them into semi- and
    anti-joins with statistics. SQLite plans less, so ``compile_segment`` picks the plan:
    one *driver* condition of the rule's top-level AND becomes ``id IN (uncorrelated
    subquery)`` (or an indexed attribute equality), which SQLite materialises once and walks
    by rowid; other event conditions over long windows become correlated EXISTS, one index
    probe per candidate instead of materialising a set far larger than the candidates
    (short windows stay IN sets: they are small). A rule with no driver is evaluated on
    every contact with IN sets.
    """

    def __init__(self, workspace: Workspace, plan: Plan | None, *, now: datetime, dialect: str,
                 indexed_attributes: frozenset[str] = frozenset(), workspace_id: int | None = None,
                 use_aggregates: bool = True) -> None:
        self.ws = workspace
        self.plan = plan
        self.now = now.astimezone(UTC)
        self.dialect = dialect
        self.indexed_attributes = indexed_attributes
        # Sets read from contact_aggregates are narrowed to this workspace (its indexes lead with it).
        self.workspace_id = workspace_id
        self.use_aggregates = use_aggregates
        # The contact id event conditions correlate with: contacts.id, or a driver set's id (``segment_ids``).
        self.cid: ColumnElement[Any] = contacts.c.id
        # Segments already materialized by the caller (name -> a selectable with an ``id`` column).
        self.materialized: dict[str, Any] = {}

    # contacts -------------------------------------------------------------------------
    def field_operand(self, name: str) -> _Operand:
        spec = self.ws.field(name)
        if spec is None:
            raise KeyError(name)
        if name in CONTACT_COLUMNS:
            column = contacts.c[name]
            return _Operand(column, spec.type, nullable=column.nullable, native_time=spec.type == "datetime")
        kind = _JSON_KINDS[spec.type]
        return _Operand(JsonValue(contacts.c.attributes, name, kind), spec.type, nullable=True, key=name,
                        json_column=contacts.c.attributes)

    def compile_segment(self, rule: Rule) -> ColumnElement[bool]:
        """``rule`` as a condition on ``contacts`` rows, planned to be evaluated from a driver (see class)."""
        if self.dialect == "postgresql":
            return self.compile(rule, "exists")
        conjuncts = _conjuncts(rule)
        driver = self._driver(conjuncts)
        if driver is None:
            return self.compile(rule, "in")
        return sa.and_(*[self.compile(c, "in" if i == driver else _filter_mode(c)) for i, c in enumerate(conjuncts)])

    def segment_ids(self, rule: Rule, workspace_id: int) -> sa.Select[Any]:
        """SELECT id of the workspace's contacts matching ``rule``, planned from a driver set.

        On PostgreSQL the narrowest conjunct that is a set by itself (an aggregate or event index
        range, an indexed attribute, a segment already materialized) drives, and the other
        conjuncts are probes on its ids: when none of them reads a contact column, ``contacts`` is
        not scanned at all (the set came from indexes). SQLite keeps ``compile_segment``'s plan.
        """
        c = contacts.c
        if self.dialect != "postgresql":
            return sa.select(c.id).where(c.workspace_id == workspace_id, self.compile_segment(rule))
        conjuncts = _conjuncts(rule)
        best: tuple[float, int, sa.Select[Any]] | None = None
        for i, conjunct in enumerate(conjuncts):
            score = self._driver_score(conjunct)
            if score is None or (best is not None and score >= best[0]):
                continue
            found = self._id_set(conjunct, workspace_id)
            if found is not None:
                best = (score, i, found)
        if best is None:
            return sa.select(c.id).where(c.workspace_id == workspace_id, self.compile(rule, "exists"))
        _, index, driver = best
        rest = [r for i, r in enumerate(conjuncts) if i != index]
        if any(self._reads_contact(r) for r in rest):
            return sa.select(c.id).where(c.workspace_id == workspace_id, c.id.in_(driver),
                                         *[self.compile(r, "exists") for r in rest])
        d = driver.subquery("d")
        saved, self.cid = self.cid, d.c.id
        try:
            conds = [self.compile(r, "exists") for r in rest]
        finally:
            self.cid = saved
        return sa.select(d.c.id).where(*conds)

    def _id_set(self, rule: Rule, workspace_id: int) -> sa.Select[Any] | None:
        """The contact ids matching ``rule`` as a set straight from an index (distinct), or None."""
        c = contacts.c
        if isinstance(rule, FieldRule):
            return sa.select(c.id).where(c.workspace_id == workspace_id, self.compile(rule, "exists"))
        if isinstance(rule, SegmentRule):
            done = self.materialized.get(rule.segment)
            if done is not None:
                return sa.select(done.c.id)
            segment = self.plan.segment(rule.segment) if self.plan else None
            return None if segment is None else self.segment_ids(segment.rule, workspace_id)
        if isinstance(rule, AnyRule):
            parts = [self._id_set(r, workspace_id) for r in rule.rules]
            if any(p is None for p in parts):
                return None
            return sa.union(*parts).subquery().select()  # type: ignore[arg-type]
        if isinstance(rule, EventRule) and rule.count_op == "at_least" and rule.count >= 1:
            found = self.aggregate_test(rule.event, rule.where, rule.window, "set", at_least=rule.count,
                                        exactly=False)
            if found is not None:
                return found  # type: ignore[return-value]
            conds = self.event_conditions(rule.event, rule.where, rule.window)
            ids = sa.select(events.c.contact_id.label("id")).where(*conds).group_by(events.c.contact_id)
            return ids.having(sa.func.count() >= rule.count) if rule.count > 1 else ids
        if isinstance(rule, LastPerformedRule) and rule.op == "within_last_days":
            window = EventWindow(kind="within_days", days=rule.days or 0)
            found = self.aggregate_test(rule.event, rule.where, window, "set", at_least=1, exactly=False)
            if found is not None:
                return found  # type: ignore[return-value]
            conds = self.event_conditions(rule.event, rule.where, window)
            return sa.select(events.c.contact_id.label("id")).where(*conds).group_by(events.c.contact_id)
        return None

    def _reads_contact(self, rule: Rule) -> bool:
        """Whether ``rule`` needs a column of the contact itself (not only its events)."""
        if isinstance(rule, (FieldRule, ConsentRule)):
            return True
        if isinstance(rule, (AllRule, AnyRule)):
            return any(self._reads_contact(r) for r in rule.rules)
        if isinstance(rule, NotRule):
            return self._reads_contact(rule.rule)
        if isinstance(rule, SegmentRule):
            if rule.segment in self.materialized:
                return False
            segment = self.plan.segment(rule.segment) if self.plan else None
            return segment is None or self._reads_contact(segment.rule)
        return False

    def _driver(self, conjuncts: list[Rule]) -> int | None:
        """Index of the conjunct to drive from: an indexed attribute equality, else the narrowest event set."""
        best: tuple[float, int] | None = None
        for i, rule in enumerate(conjuncts):
            score = self._driver_score(rule)
            if score is not None and (best is None or score < best[0]):
                best = (score, i)
        return best[1] if best else None

    def _driver_score(self, rule: Rule) -> float | None:
        """Lower is narrower; None when the rule cannot produce a candidate set by itself."""
        if isinstance(rule, FieldRule):
            indexed = rule.field in self.indexed_attributes and rule.op in {"eq", "in"}
            return 0.0 if indexed else None
        if isinstance(rule, EventRule):
            if rule.count_op == "at_most" or rule.count < 1:
                return None
            days = rule.window.days if rule.window.kind == "within_days" else None
            return 1 + (days if days is not None else 10_000) - (0.5 if rule.where else 0)
        if isinstance(rule, LastPerformedRule):
            if rule.op == "never":
                return None
            return 1 + (rule.days or 0 if rule.op == "within_last_days" else 10_000)
        if isinstance(rule, SegmentRule):
            segment = self.plan.segment(rule.segment) if self.plan else None
            if segment is None:
                return None
            inner = [self._driver_score(c) for c in _conjuncts(segment.rule)]
            scores = [x for x in inner if x is not None]
            return min(scores) if scores else None
        if isinstance(rule, AnyRule):
            scores = [self._driver_score(r) for r in rule.rules]
            return None if any(x is None for x in scores) else sum(x for x in scores if x is not None)
        return None

    def compile(self, rule: Rule, mode: str = "in") -> ColumnElement[bool]:
        """A condition on a ``contacts`` row that holds when the contact matches ``rule``.

        ``mode`` says how event conditions test membership: "in" (uncorrelated set) or
        "exists" (correlated probe); PostgreSQL always gets "exists".
        """
        if self.dialect == "postgresql":
            mode = "exists"
        if isinstance(rule, AllRule):
            return sa.and_(*[self.compile(r, mode) for r in rule.rules])
        if isinstance(rule, AnyRule):
            return sa.or_(*[self.compile(r, mode) for r in rule.rules])
        if isinstance(rule, NotRule):
            return sa.not_(self.compile(rule.rule, mode))
        if isinstance(rule, FieldRule):
            return compare(self.field_operand(rule.field), rule.op, rule.value, self.now)
        if isinstance(rule, ConsentRule):
            return contacts.c.consent == rule.state
        if isinstance(rule, SegmentRule):
            segment = self.plan.segment(rule.segment) if self.plan else None
            if segment is None:
                raise KeyError(rule.segment)
            done = self.materialized.get(rule.segment)
            if done is not None:
                return self.cid.in_(sa.select(done.c.id))
            return self.compile_segment(segment.rule) if mode == "in" else self.compile(segment.rule, mode)
        if isinstance(rule, EventRule):
            return self.event_rule(rule, mode)
        if isinstance(rule, LastPerformedRule):
            return self.last_performed(rule, mode)
        raise TypeError(f"unknown rule {type(rule).__name__}")  # pragma: no cover

    # events ---------------------------------------------------------------------------
    def property_operand(self, event: str, name: str) -> _Operand:
        spec = self.ws.event(event)
        prop = next((p for p in spec.properties if p.name == name), None) if spec else None
        if name in EVENT_COLUMNS:
            return _Operand(events.c[name], EVENT_COLUMNS[name], nullable=True)
        ftype = prop.type if prop else "string"
        return _Operand(JsonValue(events.c.properties, name, _JSON_KINDS[ftype]), ftype, nullable=True, key=name,
                        json_column=events.c.properties)

    def event_conditions(self, event: str, where: list[PropertyFilter],
                         window: EventWindow | None = None) -> list[ColumnElement[bool]]:
        """Conditions on an ``events`` row: this event, in the window, matching the filters, not after now."""
        at = events.c.occurred_at
        conds: list[ColumnElement[bool]] = [events.c.name == event]
        window = window or EventWindow()
        if window.kind == "within_days":
            conds.append(at >= self.now - timedelta(days=window.days or 0))
        elif window.kind == "before_days":
            conds.append(at < self.now - timedelta(days=window.days or 0))
        elif window.kind == "since":
            conds.append(at >= _as_datetime(window.on))
        elif window.kind == "until":
            conds.append(at < _as_datetime(window.on))
        conds.append(at <= self.now)
        for f in where:
            conds.append(compare(self.property_operand(event, f.property), f.op, f.value, self.now))
        return conds

    def performed(self, conds: list[ColumnElement[bool]], mode: str, *, at_least: int = 1, exactly: bool = False,
                  negate: bool = False) -> ColumnElement[bool]:
        """The contact has (``negate``: has not) ``at_least`` (or ``exactly``) matching events."""
        cid = self.cid
        counted = at_least > 1 or exactly
        if mode == "exists":
            if counted and self.dialect == "postgresql":
                # Aggregate once and anti/semi-join against it, rather than count per contact.
                grouped = (sa.select(events.c.contact_id).where(*conds).group_by(events.c.contact_id)
                           .having(sa.func.count() == at_least if exactly else sa.func.count() >= at_least).subquery())
                test = sa.exists(sa.select(sa.literal(1)).select_from(grouped).where(grouped.c.contact_id == cid))
            elif counted:
                # One probe per candidate on (contact_id, name, occurred_at): count that contact's events.
                n = (sa.select(sa.func.count()).select_from(events).where(events.c.contact_id == cid, *conds)
                     .scalar_subquery())
                test = n == at_least if exactly else n >= at_least
            else:
                test = sa.exists(sa.select(sa.literal(1)).select_from(events).where(events.c.contact_id == cid, *conds))
            return sa.not_(test) if negate else test
        ids = sa.select(events.c.contact_id).where(*conds)
        if counted:
            count = sa.func.count()
            ids = ids.group_by(events.c.contact_id).having(count == at_least if exactly else count >= at_least)
        return cid.not_in(ids) if negate else cid.in_(ids)

    def event_rule(self, rule: EventRule, mode: str = "in") -> ColumnElement[bool]:
        n = rule.count
        if rule.count_op == "at_least" and n == 0:
            return sa.true()
        at_least, exactly, negate = {"at_least": (n, False, False), "at_most": (n + 1, False, True)}.get(
            rule.count_op, (max(n, 1), n > 0, n == 0))
        return self.counted(rule.event, rule.where, rule.window, mode, at_least=at_least, exactly=exactly,
                            negate=negate)

    def counted(self, event: str, where: list[PropertyFilter], window: EventWindow, mode: str, *,
                at_least: int = 1, exactly: bool = False, negate: bool = False) -> ColumnElement[bool]:
        """The contact has (``negate``: has not) ``at_least`` (or ``exactly``) such events: from the
        per-contact aggregates when they answer exactly, else from the events themselves."""
        conds = self.event_conditions(event, where, window)
        test = self.aggregate_test(event, where, window, mode, at_least=at_least, exactly=exactly)
        if test is None:
            return self.performed(conds, mode, at_least=at_least, exactly=exactly, negate=negate)
        return sa.not_(test) if negate else test

    def aggregate_test(self, event: str, where: list[PropertyFilter], window: EventWindow, mode: str, *,
                       at_least: int, exactly: bool) -> ColumnElement[bool] | None:
        """The count test answered from ``contact_aggregates``, or None when they cannot answer it exactly.

        They hold, per contact and event (and category), the count and the first and last time of
        all its events, future ones included. So: "at least once before T" is first_at < T; "at
        least once in [T, now]" is last_at in it, or, if the last event lies after now, a probe of
        the events; "ever" counts are the stored count when nothing lies after now, else a probe.
        Counts inside a window, and filters on other properties than an equal category, need events.
        """
        if not self.use_aggregates:
            return None
        category = _aggregate_category(where)
        if category is None:
            return None
        a = aggregates.c
        now = self.now
        cutoff = _window_cutoff(window)
        if window.kind in {"before_days", "until"}:
            if at_least > 1 or exactly:
                return None
            bound = now - timedelta(days=window.days or 0) if window.kind == "before_days" else _as_datetime(window.on)
            if bound > now:
                return None
            row_test: ColumnElement[bool] = a.first_at < bound
        else:
            # An event after now does not count: where the last one is, only the events can tell.
            after_now = a.last_at > now
            probe = self._aggregate_probe(event, where, window, at_least=at_least, exactly=exactly)
            if window.kind in {"within_days", "since"}:
                if at_least > 1 or exactly:
                    return None
                low = now - timedelta(days=window.days or 0) if window.kind == "within_days" else cutoff
                row_test = sa.and_(a.last_at >= low, sa.or_(a.last_at <= now, probe))
            elif at_least == 1 and not exactly:
                row_test = a.first_at <= now
            else:
                counted = a.event_count == at_least if exactly else a.event_count >= at_least
                row_test = sa.or_(sa.and_(counted, sa.not_(after_now)), sa.and_(after_now, probe))
        keys: list[ColumnElement[bool]] = [a.name == event, a.category == category]
        scope = [a.workspace_id == self.workspace_id] if self.workspace_id is not None else []
        if mode == "exists":
            return sa.exists(sa.select(sa.literal(1)).select_from(aggregates).where(
                a.contact_id == self.cid, *scope, *keys, row_test))
        if mode == "set":
            return sa.select(a.contact_id.label("id")).where(*scope, *keys, row_test)  # type: ignore[return-value]
        return self.cid.in_(sa.select(a.contact_id).where(*scope, *keys, row_test))

    def _aggregate_probe(self, event: str, where: list[PropertyFilter], window: EventWindow, *,
                         at_least: int, exactly: bool) -> ColumnElement[bool]:
        """The events test for the aggregate row's contact (used only where its last event lies after now)."""
        conds = self.event_conditions(event, where, window)
        mine = events.c.contact_id == aggregates.c.contact_id
        if at_least > 1 or exactly:
            n = sa.select(sa.func.count()).select_from(events).where(mine, *conds).scalar_subquery()
            return n == at_least if exactly else n >= at_least
        return sa.exists(sa.select(sa.literal(1)).select_from(events).where(mine, *conds))

    def last_performed(self, rule: LastPerformedRule, mode: str = "in") -> ColumnElement[bool]:
        ever = EventWindow()
        if rule.op == "never":
            return self.counted(rule.event, rule.where, ever, mode, negate=True)
        recent = EventWindow(kind="within_days", days=rule.days or 0)
        if rule.op == "within_last_days":
            return self.counted(rule.event, rule.where, recent, mode)
        # Performed at some time, but not in the last ``days``: the first part can drive.
        return sa.and_(self.counted(rule.event, rule.where, ever, mode),
                       self.counted(rule.event, rule.where, recent, "exists" if mode == "in" else mode, negate=True))


def _aggregate_category(where: list[PropertyFilter]) -> str | None:
    """The aggregate row's category for these filters: '' for none, the category for one equality on
    it; None when the filters need the events themselves."""
    if not where:
        return AGGREGATE_ALL_CATEGORIES
    if len(where) == 1 and where[0].property == "category" and where[0].op == "eq" \
            and isinstance(where[0].value, str) and where[0].value:
        return where[0].value
    return None


def _window_cutoff(window: EventWindow) -> datetime | None:
    return _as_datetime(window.on) if window.kind in {"since", "until"} else None


# Event sets over at most this many days are small enough to materialise once; longer
# windows are probed per candidate (measured on the 1M-contact benchmark: a 7-day
# "ordered" set as NOT IN took half the time of per-candidate probes; a 180-day one, 4x longer).
_SMALL_WINDOW_DAYS = 14


def _filter_mode(rule: Rule) -> str:
    """How a non-driver conjunct tests events on SQLite: "in" for short windows, else "exists"."""
    if isinstance(rule, NotRule):
        return _filter_mode(rule.rule)
    if isinstance(rule, EventRule) and rule.window.kind == "within_days":
        return "in" if (rule.window.days or 0) <= _SMALL_WINDOW_DAYS else "exists"
    if isinstance(rule, LastPerformedRule) and rule.op == "within_last_days":
        return "in" if (rule.days or 0) <= _SMALL_WINDOW_DAYS else "exists"
    return "exists"


def _conjuncts(rule: Rule) -> list[Rule]:
    """The rules a top-level AND requires, nested ANDs flattened."""
    if isinstance(rule, AllRule):
        return [c for sub in rule.rules for c in _conjuncts(sub)]
    return [rule]
