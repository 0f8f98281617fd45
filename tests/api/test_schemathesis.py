"""The API fuzzed from the OpenAPI document it serves (schemathesis): whatever a client sends,
the DM answers with a documented status and a body that fits the schema, never a 500.

Generated names are mostly unknown, so half of the valid requests (deletions aside) get the
names of a seeded template, application, instance and target: the fuzzing reaches past 404s.
Deterministic (derandomized), bounded in examples per operation.
"""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import positive_data_acceptance
from schemathesis.schemas import APIOperation

from tests.api.conftest import TEMPLATE, LiveServer, create_application, template_zip

pytestmark = pytest.mark.integration

APPLICATION = "fuzzed"
TARGET = "fuzz-target"
#: the value of a path or query parameter that names something that exists
KNOWN = {
    "app": APPLICATION,
    "application": APPLICATION,
    "name": TEMPLATE[0],
    "version": TEMPLATE[1],
    "target_id": TARGET,
    "path": "/host/database",
    "under": "/host",
}
#: the live stream never ends: test_api.py tests it
ENDLESS = "/api/v1/events/stream"
EXAMPLES = 25


@pytest.fixture(scope="module")
def api_schema(server: LiveServer, client: httpx.Client) -> schemathesis.BaseSchema:
    client.post("/templates", files={"file": ("webstack.zip", template_zip())})
    create_application(client, APPLICATION)
    target = f"id = {TARGET}\nhandler = in-memory\nin-memory.execute-real-recipes = false\n"
    client.post("/targets", json={"properties": target})
    return schemathesis.openapi.from_url(f"{server.api}/openapi.json").exclude(path=ENDLESS)


def test_every_operation_answers_as_documented(api_schema: schemathesis.BaseSchema) -> None:
    failures: list[str] = []
    tested = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        tested += 1
        try:
            _fuzz(operation)
        except Exception as error:
            failures.append(f"{operation.label}: {error}")
    assert tested == 37, "every operation but the endless stream"
    assert not failures, "\n\n".join(failures)


def _fuzz(operation: APIOperation) -> None:
    positive = st.tuples(operation.as_strategy(GenerationMode.POSITIVE), st.booleans())
    cases = st.one_of(
        positive.map(_with_known_names), operation.as_strategy(GenerationMode.NEGATIVE)
    )

    @given(case=cases)
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def answers_as_documented(case: Case) -> None:
        # a schema cannot tell which zip is a template, which text a target definition, which
        # names exist or which state requests make sense: the DM refuses those with a 400, 404,
        # 409 or 422 (checked by the other checks: documented, with an ErrorOut body)
        case.call_and_validate(excluded_checks=[positive_data_acceptance])

    answers_as_documented()


def _with_known_names(drawn: tuple[Case, bool]) -> Case:
    """Half the cases name what exists, except deletions (which would end the seeded names)."""
    case, known = drawn
    if known and case.method.upper() != "DELETE":
        for values in (case.path_parameters, case.query):
            for key in (values or {}).keys() & KNOWN.keys():
                values[key] = KNOWN[key]
    return case
