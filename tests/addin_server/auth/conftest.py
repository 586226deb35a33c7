"""Apps signed in at the local identity provider (`make_app` in ../conftest.py), and bearer headers."""

from __future__ import annotations

import pytest

# make_app, identity_settings and PUBLIC_URL live in ../conftest.py (the Teams tests build on them too).
from tests.addin_server.conftest import PUBLIC_URL, identity_settings

__all__ = ["PUBLIC_URL", "bearer", "identity_settings"]


@pytest.fixture
def client(make_app):
    return make_app().test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
