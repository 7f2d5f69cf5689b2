"""Fixtures for the Fortnox client tests: a fake API behind httpx.MockTransport."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from _fortnox_testkit import ACCESS_TOKEN, API, FakeTime, Recorder

from include.fortnox.client import FortnoxClient, RetryPolicy


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def make_client(fake_time: FakeTime) -> Callable[..., tuple[FortnoxClient, Recorder]]:
    def make(
        handler: Callable[[httpx.Request], httpx.Response], **kwargs: object
    ) -> tuple[FortnoxClient, Recorder]:
        recorder = Recorder(handler)
        client = FortnoxClient(
            API,
            lambda: ACCESS_TOKEN,
            transport=httpx.MockTransport(recorder),
            sleep=fake_time.sleep,
            rng=lambda: 0.5,
            retry=kwargs.pop("retry", RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=8.0)),  # type: ignore[arg-type]
            **kwargs,  # type: ignore[arg-type]
        )
        return client, recorder

    return make
