"""The foundation's HTTP surface: health, workspaces, catalog, errors, OpenAPI."""

from __future__ import annotations

import sqlalchemy as sa
from litestar.testing import TestClient

from copilot.app import create_app


def test_health_ok_with_database_reachable(runtime) -> None:  # type: ignore[no-untyped-def]
    with TestClient(create_app(runtime=runtime, plugins=[])) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_health_503_when_database_unreachable(runtime) -> None:  # type: ignore[no-untyped-def]
    app = create_app(runtime=runtime, plugins=[])
    runtime.engine = sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with TestClient(app) as client:
        response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_workspace_catalog_and_counts(runtime) -> None:  # type: ignore[no-untyped-def]
    with TestClient(create_app(runtime=runtime, plugins=[])) as client:
        listed = client.get("/api/workspaces").json()
        detail = client.get("/api/workspaces/northpeak").json()
        catalog = client.get("/api/workspaces/northpeak/catalog").json()
    assert [w["slug"] for w in listed] == ["northpeak"]
    assert detail["counts"]["contacts"] == 0
    assert any(f["name"] == "hometown" and f["provenance"] == "third_party" for f in catalog["fields"])


def test_unknown_workspace_is_a_404_with_the_name(runtime) -> None:  # type: ignore[no-untyped-def]
    with TestClient(create_app(runtime=runtime, plugins=[])) as client:
        response = client.get("/api/workspaces/nope")
    assert response.status_code == 404
    assert response.json() == {"error": "NotFoundError", "message": "no workspace 'nope'", "workspace": "nope"}


def test_openapi_schema_lists_the_endpoints(runtime) -> None:  # type: ignore[no-untyped-def]
    with TestClient(create_app(runtime=runtime, plugins=[])) as client:
        paths = client.get("/schema/openapi.json").json()["paths"]
    assert {"/health", "/api/workspaces", "/api/workspaces/{slug}/catalog"} <= set(paths)
