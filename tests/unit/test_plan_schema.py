"""The committed JSON Schema of the plan is the one the model produces."""

from __future__ import annotations

from copilot.plan import SCHEMA_PATH, render_plan_schema


def test_committed_plan_schema_is_current() -> None:
    # When this fails: run `python -m copilot.plan` and commit copilot/schema/plan.schema.json.
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render_plan_schema()


def test_every_text_field_of_a_variant_is_declared_as_copy_or_as_metadata() -> None:
    """Adding a copy field to Variant without declaring it in COPY_FIELDS would leave it unguarded."""
    from copilot.plan import COPY_FIELD_NAMES, Variant

    metadata = {"segment", "message", "key", "locale"}
    text_fields = {name for name, info in Variant.model_fields.items() if info.annotation is str}
    assert set(COPY_FIELD_NAMES) == text_fields - metadata
    assert [f.name for f in Variant.COPY_FIELDS if f.is_url] == ["cta_url"]
    assert set(Variant.EDITABLE_FIELDS) - set(COPY_FIELD_NAMES) == {"locale", "merge_fields"}


def test_copy_items_follow_the_declared_reading_order_and_can_leave_out_links() -> None:
    from copilot.plan import COPY_FIELD_NAMES, Variant

    v = Variant(segment="s", subject="S", preheader="P", body="B", cta_text="C", cta_url="https://x.example/")
    assert [f.name for f, _ in v.copy_items()] == list(COPY_FIELD_NAMES)
    assert [text for _, text in v.copy_items(urls=False)] == ["S", "P", "B", "C"]
