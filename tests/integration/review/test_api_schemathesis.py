"""Schemathesis over the whole JSON API (every operation in the OpenAPI schema), with inputs that fit
the schema and inputs that do not, against a database with drafts in every state: no answer is a
server error, and every status an answer has is documented for its route.

Bounded: COPILOT_SCHEMATHESIS_EXAMPLES examples per operation and mode (default 15), derandomized,
no shrinking. (schemathesis' pytest plugin does not run under pytest 9, so the operations are
driven here with its strategies and checks.)
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from review_factory import World, finding
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from copilot.app import create_app
from copilot.runtime import Runtime
from copilot.services import review as gate
from copilot.services.api_tokens import issue_token

EXAMPLES = int(os.environ.get("COPILOT_SCHEMATHESIS_EXAMPLES", "15"))
# No 5xx; every status documented for its route; and the answer's content type and body match the schema.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _seed(world: World) -> str:
    """Drafts in every state the gate has, so generated ids and versions meet real rows; the caller is an
    admin (every route is open to one) who authored one of the drafts."""
    u, s = world.users, world.session
    world.draft(u["mara"])
    world.submitted(u["mara"], [finding("FACT_PRICE"), finding("PROV_UNEXPECTED", "warn", needs_ack=True)])
    world.submitted(u["ada"])
    approved = world.submitted(u["mara"])
    gate.approve(s, approved, u["rita"], approved.version)
    scheduled = world.submitted(u["mo"])
    gate.approve(s, scheduled, u["rita"], scheduled.version)
    gate.schedule(s, scheduled, u["rita"], scheduled.version, at="2031-06-01T09:00", timezone="UTC")
    token = issue_token(s, u["ada"].id or 0, label="schemathesis")[1]
    s.commit()
    return token


def _drive(operation, mode: GenerationMode, headers: dict[str, str], failures: dict[tuple[str, int], str],  # type: ignore[no-untyped-def]
           statuses: Counter[str]) -> None:
    """Up to EXAMPLES generated requests to one operation; one report per distinct failing status."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=["explicit", "generate"])
    def run(case) -> None:  # type: ignore[no-untyped-def]
        response = case.call(headers=headers)
        statuses[str(response.status_code)] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (FailureGroup, AssertionError) as exc:
            failures.setdefault((operation.label, response.status_code), (
                f"{operation.label} ({mode.value}) -> {response.status_code}: {str(exc).splitlines()[0]}\n"
                f"    {case.as_curl_command()[:300]}\n    {response.text[:300]}"))

    try:
        run()
    except Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE  # nothing to get wrong (no parameters, no body)


def test_no_server_error_and_no_undocumented_status_on_any_input(runtime: Runtime, world: World) -> None:
    headers = {"Authorization": f"Bearer {_seed(world)}"}
    app = create_app(runtime=runtime, plugins=[])
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30  # the whole API, not a corner of it
    failures: dict[tuple[str, int], str] = {}  # one report per operation and status
    statuses: Counter[str] = Counter()
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _drive(operation, mode, headers, failures, statuses)
    print(f"{sum(statuses.values())} requests over {len(operations)} operations; statuses: {dict(statuses)}")
    assert not failures, f"{len(failures)} kinds of failure:\n" + "\n".join(failures.values())


pytestmark = pytest.mark.slow
