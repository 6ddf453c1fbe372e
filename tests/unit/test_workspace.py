"""Loading brand folders: the demo brand loads; every bad input names file, path and problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from copilot.errors import WorkspaceError
from copilot.workspace import demo_workspace_dir, load_workspace


@pytest.fixture
def brand(tmp_path: Path) -> Path:
    folder = tmp_path / "brand"
    shutil.copytree(demo_workspace_dir(), folder)
    return folder


def _edit(folder: Path, name: str, change) -> None:  # type: ignore[no-untyped-def]
    path = folder / name
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_demo_brand_loads_with_risky_fields(demo_workspace) -> None:  # type: ignore[no-untyped-def]
    ws = demo_workspace
    assert ws.slug == "northpeak"
    assert ws.field("hometown").provenance == "third_party"
    assert ws.field("hometown").disclosed is False
    assert ws.field("predicted_income_band").provenance == "inferred"
    assert ws.event("cart_abandoned") is not None
    assert len(ws.content_hash) == 64


def test_content_hash_changes_with_content(brand: Path) -> None:
    before = load_workspace(brand).content_hash
    _edit(brand, "facts.yaml", lambda d: d["products"][0].update(price=141))
    assert load_workspace(brand).content_hash != before


def test_malformed_yaml_names_file_and_line(brand: Path) -> None:
    (brand / "voice.yaml").write_text("tone_words: [warm\nbanned_phrases: x: y\n")
    with pytest.raises(WorkspaceError) as info:
        load_workspace(brand)
    assert info.value.context["file"] == "voice.yaml"
    assert info.value.context["path"].startswith("line ")
    assert "malformed YAML" in info.value.message


def test_unknown_provenance_names_the_field_path(brand: Path) -> None:
    _edit(brand, "catalog.yaml", lambda d: d["fields"][3].update(provenance="bought_somewhere"))
    with pytest.raises(WorkspaceError) as info:
        load_workspace(brand)
    problem = info.value.context["problems"][0]
    assert problem["file"] == "catalog.yaml"
    assert problem["path"] == "fields[3].provenance"
    assert "bought_somewhere" in problem["message"]


def test_offer_without_terms_is_refused(brand: Path) -> None:
    _edit(brand, "facts.yaml", lambda d: d["offers"][1].pop("terms"))
    with pytest.raises(WorkspaceError) as info:
        load_workspace(brand)
    problem = info.value.context["problems"][0]
    assert (problem["file"], problem["path"]) == ("facts.yaml", "offers[1].terms")
    assert "required" in problem["message"].lower()


def test_offer_ending_before_it_starts_is_refused(brand: Path) -> None:
    _edit(brand, "facts.yaml", lambda d: d["offers"][0].update(ends="2025-01-01"))
    with pytest.raises(WorkspaceError, match="before starts"):
        load_workspace(brand)


def test_unknown_key_is_an_error_not_ignored(brand: Path) -> None:
    _edit(brand, "voice.yaml", lambda d: d.update(max_exclamations=3))
    with pytest.raises(WorkspaceError) as info:
        load_workspace(brand)
    assert info.value.context["problems"][0]["path"] == "max_exclamations"


def test_offer_applying_to_unknown_category_is_refused(brand: Path) -> None:
    _edit(brand, "facts.yaml", lambda d: d["offers"][4].update(applies_to=["running_shoes", "jetpacks"]))
    with pytest.raises(WorkspaceError) as info:
        load_workspace(brand)
    assert info.value.context["problems"][0]["path"] == "offers[4].applies_to[1]"


def test_sensitive_field_cannot_allow_personalization(brand: Path) -> None:
    def change(d):  # type: ignore[no-untyped-def]
        field = next(f for f in d["fields"] if f["name"] == "injury_notes")
        field["allowed_uses"] = ["personalization"]

    _edit(brand, "catalog.yaml", change)
    with pytest.raises(WorkspaceError, match="sensitive field 'injury_notes'"):
        load_workspace(brand)


def test_missing_file_and_missing_folder(brand: Path, tmp_path: Path) -> None:
    (brand / "facts.yaml").unlink()
    with pytest.raises(WorkspaceError) as info:
        load_workspace(brand)
    assert info.value.context["file"] == "facts.yaml"
    with pytest.raises(WorkspaceError, match="not found"):
        load_workspace(tmp_path / "nowhere")


def test_every_problem_is_reported_not_only_the_first(brand: Path) -> None:
    _edit(brand, "catalog.yaml", lambda d: (d["fields"][2].update(type="colour"), d["fields"][4].update(provenance="x")))
    with pytest.raises(WorkspaceError) as info:
        load_workspace(brand)
    paths = {p["path"] for p in info.value.context["problems"]}
    assert {"fields[2].type", "fields[4].provenance"} <= paths
