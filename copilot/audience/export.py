"""Write a synthetic audience as the CSV files ``copilot import`` reads.

Sample files for trying the importer, and big files for measuring it, from the same
seeded generator as the demo database.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import numpy as np

from copilot.audience.generator import generate_audience
from copilot.workspace import CONTACT_COLUMNS, Workspace

__all__ = ["write_audience_csv"]

_CONTACT_HEADER = ("email", "consent", "first_name", "last_name", "city", "country", "locale", "timezone",
                   "signed_up_at")


def _iso(epoch_seconds: np.ndarray) -> list[str]:
    return [s + "Z" for s in np.datetime_as_string(epoch_seconds.astype("datetime64[s]")).tolist()]


def write_audience_csv(workspace: Workspace, contacts_path: Path, events_path: Path | None, *, contacts: int,
                       seed: int = 7, now: datetime | None = None) -> tuple[int, int]:
    """Write ``contacts`` generated contacts (and their events) as import CSVs; returns the row counts."""
    attributes = [f.name for f in workspace.catalog.fields if f.name not in CONTACT_COLUMNS]
    props = sorted({p.name for e in workspace.catalog.events for p in e.properties})
    written_events = 0
    with open(contacts_path, "w", newline="", encoding="utf-8") as cf:
        ef = open(events_path, "w", newline="", encoding="utf-8") if events_path else None  # noqa: SIM115
        try:
            contacts_out = csv.writer(cf)
            contacts_out.writerow([*_CONTACT_HEADER, *attributes])
            events_out = csv.writer(ef) if ef else None
            if events_out:
                events_out.writerow(["email", "event", "occurred_at", *props])
            for chunk in generate_audience(workspace, contacts=contacts, seed=seed, now=now):
                signed = _iso(chunk.signed_up_at)
                for i, email in enumerate(chunk.email):
                    attrs = json.loads(chunk.attributes[i])
                    contacts_out.writerow([
                        email, chunk.consent[i], chunk.first_name[i] or "", chunk.last_name[i] or "",
                        chunk.city[i] or "", chunk.country[i] or "", chunk.locale[i], chunk.timezone[i], signed[i],
                        *(_cell(attrs.get(name)) for name in attributes),
                    ])
                if events_out is None:
                    continue
                ev = chunk.events
                at = _iso(ev.occurred_at)
                for j, name in enumerate(ev.name):
                    values = {"category": ev.category[j], "product": ev.product[j], "value": ev.value[j],
                              **json.loads(ev.properties[j])}
                    events_out.writerow([chunk.email[int(ev.contact[j])], name, at[j],
                                         *(_cell(values.get(p)) for p in props)])
                written_events += len(ev)
        finally:
            if ef:
                ef.close()
    return contacts, written_events


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "|".join(str(v) for v in value)
    return str(value)
