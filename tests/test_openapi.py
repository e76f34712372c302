"""/api/openapi.json stays true: schemathesis checks live responses against it."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from server.settings import Settings
from server.tokens import mint
from tests import live_server
from tests.conftest import SECRET


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[live_server.LiveServer]:
    server = live_server.start(tmp_path_factory.mktemp("openapi"))
    yield server
    server.stop()


def post(url: str, token: str, body: dict[str, object]) -> None:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=5).close()


def test_live_responses_conform_to_the_openapi_document(live: live_server.LiveServer) -> None:
    s = Settings(jwt_secret=SECRET)
    host = mint(s, sub="host", name="Host", role="integrator", program="*", room="")
    post(live.url + "/api/programs", host, {
        "id": "prog-1", "client": {"id": "client-1", "name": "Sam"},
        "clinicians": [{"id": "clinician-1", "name": "Dr. Rivera"}]})
    clinician = mint(s, sub="clinician-1", name="Dr. Rivera", role="clinician",
                     program="prog-1", room="r")
    post(live.url + "/api/programs/prog-1/sessions", clinician, {"id": "r", "kind": "couples"})
    schema = schemathesis.openapi.from_url(live.url + "/api/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 18
    for index, operation in enumerate(operations):
        token = host if index % 2 else clinician  # both staff roles, alternately
        exercise(operation, token, to_seeded_program=index % 3 == 0)()


def exercise(operation: schemathesis.APIOperation, token: str,
             to_seeded_program: bool) -> Callable[[], None]:
    """Hypothesis cases for one operation, each checked against the document."""
    @given(case=operation.as_strategy())
    @settings(max_examples=12, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        if to_seeded_program and "program" in (case.path_parameters or {}):
            case.path_parameters["program"] = "prog-1"  # reach the 2xx paths too
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"})

    return run  # type: ignore[no-any-return]


def test_hostile_bodies_answer_as_the_document_says(live: live_server.LiveServer) -> None:
    """Every operation with a body lists 413, 415, 422 and 500, and the live refusals of a
    body too large, not JSON or nested too deep conform to it."""
    import requests

    s = Settings(jwt_secret=SECRET)
    host = mint(s, sub="host", name="Host", role="integrator", program="*", room="")
    requests.post(live.url + "/api/programs", timeout=5, headers={  # 409 if already there
        "Authorization": f"Bearer {host}"}, json={
        "id": "prog-1", "client": {"id": "client-1", "name": "Sam"},
        "clinicians": [{"id": "clinician-1", "name": "Dr. Rivera"}]})
    schema = schemathesis.openapi.from_url(live.url + "/api/openapi.json")
    with_body = [op for result in schema.get_all_operations()
                 if "requestBody" in (op := result.ok()).definition.raw]
    assert len(with_body) >= 8
    deep = b'{"id": ' + b"[" * 100 + b"]" * 100 + b"}"
    hostile = [(b'{"id": "' + b"x" * 70_000 + b'"}', "application/json", 413),
               (b'{"id": "x"}', "text/plain", 415), (deep, "application/json", 422)]
    people = {"clinician": "clinician-1", "client": "client-1",
              "partner": "partner-of-client-1"}  # (a program made without a partner)
    callers = [host] + [mint(s, sub=sub, name="N", role=role, program="prog-1", room="r")
                        for role, sub in people.items()]
    checked = set()
    for operation in with_body:
        assert {"413", "415", "422", "500"} <= set(operation.definition.raw["responses"])
        path = operation.path.replace("{program}", "prog-1").replace("{invite}", "i")
        for data, content_type, status in hostile:
            for token in callers:
                response = requests.request(
                    operation.method.upper(), live.url + path, data=data, timeout=5,
                    headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
                if response.status_code not in (401, 403):  # a role that reaches the body
                    break
            assert response.status_code == status, (operation.label, response.text)
            operation.validate_response(response)
            checked.add(operation.label)
    assert len(checked) == len(with_body)
