"""The synthetic audience generator: deterministic, shaped by the catalog, with real gaps."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime

from copilot.audience import GEN_CHUNK, generate_audience
from copilot.workspace import CONTACT_COLUMNS, Workspace

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _rows(workspace: Workspace, n: int, seed: int = 7) -> list[tuple]:  # type: ignore[type-arg]
    rows = []
    for chunk in generate_audience(workspace, contacts=n, seed=seed, now=NOW):
        ev = chunk.events
        rows.append((chunk.email, chunk.first_name, chunk.consent, chunk.signed_up_at.tolist(), chunk.attributes,
                     ev.contact.tolist(), ev.name, ev.occurred_at.tolist(), ev.product, ev.value, ev.properties))
    return rows


def test_same_seed_and_now_give_identical_rows(demo_workspace: Workspace) -> None:
    assert _rows(demo_workspace, 1_200) == _rows(demo_workspace, 1_200)


def test_another_seed_gives_another_audience(demo_workspace: Workspace) -> None:
    assert _rows(demo_workspace, 300, seed=7) != _rows(demo_workspace, 300, seed=8)


def test_a_bigger_audience_starts_with_the_same_people(demo_workspace: Workspace) -> None:
    small = next(generate_audience(demo_workspace, contacts=GEN_CHUNK, now=NOW))
    big = next(generate_audience(demo_workspace, contacts=GEN_CHUNK + 10, now=NOW))
    assert small.email == big.email
    assert small.attributes == big.attributes


def test_emails_are_unique_lowercase_and_on_reserved_domains(demo_workspace: Workspace) -> None:
    emails = [e for chunk in generate_audience(demo_workspace, contacts=GEN_CHUNK * 2, now=NOW) for e in chunk.email]
    assert len(set(emails)) == len(emails)
    assert all(e == e.lower() and e.isascii() for e in emails)
    assert {e.rsplit("@", 1)[1] for e in emails} <= {"example.com", "example.net", "example.org", "mail.example"}


def _check_type(type_: str, values: list[str], value: object) -> bool:
    match type_:
        case "string":
            return isinstance(value, str)
        case "integer":
            return isinstance(value, int) and not isinstance(value, bool)
        case "number":
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        case "boolean":
            return isinstance(value, bool)
        case "enum":
            return value in values
        case "date":
            return isinstance(value, str) and date.fromisoformat(value).isoformat() == value
        case "datetime":
            return isinstance(value, str) and datetime.fromisoformat(value).utcoffset() is not None
    return False


def test_every_attribute_and_event_fits_the_catalog(demo_workspace: Workspace) -> None:
    ws = demo_workspace
    skus = set(ws.products_by_sku)
    categories = {p.category for p in ws.facts.products}
    seen_attrs: set[str] = set()
    for chunk in generate_audience(ws, contacts=2_000, now=NOW):
        for text in chunk.attributes:
            for name, value in json.loads(text).items():
                field = ws.field(name)
                assert field is not None and name not in CONTACT_COLUMNS, name
                assert _check_type(field.type, field.values, value), (name, value)
                seen_attrs.add(name)
        ev = chunk.events
        for i, name in enumerate(ev.name):
            spec = ws.event(name)
            assert spec is not None, name
            declared = {p.name for p in spec.properties}
            assert set(json.loads(ev.properties[i])) <= declared
            for column, value in (("category", ev.category[i]), ("product", ev.product[i]), ("value", ev.value[i])):
                assert value is None or column in declared, (name, column)
            assert ev.product[i] is None or ev.product[i] in skus
            assert ev.category[i] is None or ev.category[i] in categories
            assert ev.occurred_at[i] <= NOW.timestamp()
    generated = {f.name for f in ws.catalog.fields} - set(CONTACT_COLUMNS)
    assert seen_attrs == generated


def test_catalog_without_a_field_or_event_gets_none_of_it(demo_workspace: Workspace) -> None:
    catalog = demo_workspace.catalog.model_copy(update={
        "fields": [f for f in demo_workspace.catalog.fields if f.name != "hometown"],
        "events": [e for e in demo_workspace.catalog.events if e.name not in ("email_opened", "cart_abandoned")],
    })
    ws = Workspace(path=demo_workspace.path, brand=demo_workspace.brand, voice=demo_workspace.voice,
                   facts=demo_workspace.facts, catalog=catalog)
    chunk = next(generate_audience(ws, contacts=500, now=NOW))
    assert not any("hometown" in json.loads(a) for a in chunk.attributes)
    assert not {"email_opened", "cart_abandoned"} & set(chunk.events.name)
    assert "email_clicked" in chunk.events.name
    # The rest of the audience is the same person for person.
    full = next(generate_audience(demo_workspace, contacts=500, now=NOW))
    assert chunk.email == full.email
    kept = [i for i, name in enumerate(full.events.name) if name not in ("email_opened", "cart_abandoned")]
    assert chunk.events.occurred_at.tolist() == full.events.occurred_at[kept].tolist()


def test_a_catalog_without_events_gets_contacts_only(demo_workspace: Workspace) -> None:
    catalog = demo_workspace.catalog.model_copy(update={"events": []})
    ws = Workspace(path=demo_workspace.path, brand=demo_workspace.brand, voice=demo_workspace.voice,
                   facts=demo_workspace.facts, catalog=catalog)
    chunk = next(generate_audience(ws, contacts=50, now=NOW))
    assert len(chunk) == 50 and len(chunk.events) == 0


def test_about_ten_events_per_contact(demo_workspace: Workspace) -> None:
    chunks = list(generate_audience(demo_workspace, contacts=GEN_CHUNK, now=NOW))
    per_contact = sum(len(c.events) for c in chunks) / GEN_CHUNK
    assert 8 <= per_contact <= 13


def test_names_and_places_span_locales_and_time_zones_with_gaps(demo_workspace: Workspace) -> None:
    chunk = next(generate_audience(demo_workspace, contacts=3_000, now=NOW))
    assert set(chunk.locale) == {"en", "es", "de"}
    assert len(set(chunk.timezone)) >= 8
    firsts = Counter("none" if f is None else "empty" if f == "" else "blank" if not f.strip() else "ok"
                     for f in chunk.first_name)
    assert firsts["none"] > 0 and firsts["empty"] > 0 and firsts["blank"] > 0 and firsts["ok"] > 2_000
    assert None in chunk.city and None in chunk.last_name and None in chunk.country
    assert Counter(chunk.consent).keys() == {"subscribed", "unsubscribed", "bounced"}
