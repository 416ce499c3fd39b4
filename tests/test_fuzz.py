"""Schemathesis over the app's own OpenAPI document (issue 8): generated requests, valid and
invalid, to every operation through the WSGI app as a signed-in clerk of a small hall; no answer
may be a 5xx, and every answer must match what the document declares."""
from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)

from tests.factories import bearer, token_for

SEED = 20261127
EXAMPLES = 20  # per operation and generation mode: ~650 requests in well under a minute
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def test_fuzz_every_operation(app, client, factory):
    factory.hall_setup("C1", windows=2, items=2)
    clerk = bearer(token_for(client, "clerk-C1-1"))
    assert client.put("/api/v1/windows/C1-1/state", json={"state": "idle"},
                      headers=clerk).status_code == 200
    known = {"hall_code": "C1", "window_code": "C1-1"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    fuzzed: dict[str, int] = {}
    statuses: dict[int, int] = {}
    failures: list[str] = []

    for result in schema.get_all_operations():
        operation = result.ok()
        names = [parameter.name for parameter in operation.path_parameters]
        fixed = {name: known[name] for name in names if name in known}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            # Positive cases keep real hall and window codes so bodies reach the views.
            strategy = operation.as_strategy(
                generation_mode=mode,
                path_parameters=fixed if mode is GenerationMode.POSITIVE else None)

            @seed(SEED)
            @settings(max_examples=EXAMPLES, deadline=None, database=None,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def run(case):
                fuzzed[operation.label] = fuzzed.get(operation.label, 0) + 1
                response = case.call(headers=clerk)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                case.validate_response(response, checks=CHECKS, headers=clerk)

            try:
                run()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to make invalid, e.g. GET /halls
            except (Exception, BaseExceptionGroup) as exc:  # report every operation that fails
                failures.append(f"{operation.label} ({mode.value}): {exc}"[:3000])

    total = sum(fuzzed.values())
    print(f"\nschemathesis: {total} requests fuzzed over {len(fuzzed)} operations (seed {SEED}); "
          f"answers by status: {dict(sorted(statuses.items()))}")
    assert not failures, "\n\n".join(failures)
    assert len(fuzzed) >= 18 and total >= 18 * EXAMPLES
