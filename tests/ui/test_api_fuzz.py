"""Schemathesis against the published OpenAPI schema: no server error for any generated request,
and nothing but the sign-in screen answers without a session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.case import Case
from schemathesis.generation.modes import GenerationMode

from tests.ui.ward import PINS, WardThread

PUBLIC = {("GET", "/api/kiosk"), ("POST", "/api/signin"), ("POST", "/api/signin/cancel")}
# The live stream never ends by itself; a sign-out would only end the session under test.
NOT_WHEN_SIGNED_IN = {("GET", "/api/events"), ("POST", "/api/signout")}
FUZZ = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
# One worker runs the whole module: its served ward starts once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ui-fuzz")]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WardThread]:
    """One ward serving the API for the whole module."""
    ward = WardThread(Path(tmp_path_factory.mktemp("fuzz")))
    try:
        yield ward
    finally:
        ward.close()


def fuzz_each_operation(
    served: WardThread, check: Callable[[Case], None], skip: set[tuple[str, str]]
) -> int:
    """Run the check on generated requests for every operation of the published schema."""
    schema = schemathesis.openapi.from_url(served.url + "openapi.json")
    done = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in skip:
            continue

        # Valid requests and requests that break the schema (wrong types, missing fields).
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if (
                mode is GenerationMode.NEGATIVE
                and not operation.body
                and not list(operation.iter_parameters())
            ):
                continue  # nothing to break in a request without parameters

            @given(case=operation.as_strategy(generation_mode=mode))
            @FUZZ
            def run(case: Case) -> None:
                """One generated request, checked."""
                check(case)

            run()
        done += 1
    return done


def pharmacist_cookies(served: WardThread, jar: dict[str, str]) -> dict[str, str]:
    """A live session of the pharmacist (the role allowed the most), signing in again if needed."""
    if jar and requests.get(served.url + "api/me", cookies=jar, timeout=5).ok:
        return jar
    if served.ward.cabinet.core.session is not None:
        # A generated sign-in holds the screen: end it through the workflow.
        served.run(served.ward.cabinet.sign_out())
    answer = requests.post(
        served.url + "api/signin", json={"pin": PINS["pharm1"], "user_id": "pharm1"}, timeout=5
    )
    assert answer.ok, answer.text
    jar.clear()
    jar.update(answer.cookies.get_dict())
    return jar


def test_nothing_is_reachable_without_a_session(served: WardThread) -> None:
    base = served.url.rstrip("/")

    def check(case: Case) -> None:
        """Send one generated request and judge the answer."""
        response = case.call(base_url=base, timeout=5)
        assert response.status_code < 500, (case.method, case.path, response.text)
        if (case.method.upper(), case.path) not in PUBLIC:
            assert response.status_code == 401, (case.method, case.path, response.status_code)
        else:
            served.run(served.ward.cabinet.sign_out())  # a generated sign-in may have worked

    assert fuzz_each_operation(served, check, skip=set()) >= 20


def test_no_server_error_for_a_signed_in_pharmacist(served: WardThread) -> None:
    base = served.url.rstrip("/")
    jar: dict[str, str] = {}

    def check(case: Case) -> None:
        """Send one generated request and judge the answer."""
        cookies = pharmacist_cookies(served, jar)
        response = case.call(base_url=base, cookies=cookies, timeout=5)
        assert response.status_code < 500, (case.method, case.path, response.text)

    assert fuzz_each_operation(served, check, skip=NOT_WHEN_SIGNED_IN) >= 20
