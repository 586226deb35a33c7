"""Every request to /api/messages carries the Bot Framework connector's token, checked by the connector rules;
anything else is a 401 and no job runs."""

from __future__ import annotations

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from addin_server.services import services
from tests.addin_server.teams.conftest import ALICE
from tests.bot_framework import BOT_ID

PROMPT_ONLY = {"commandId": "generate", "commandContext": "compose", "data": {"prompt": "a red circle"}}


def tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["aud"] = BOT_ID + "0"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{signature}"


BAD_TOKENS = {
    "wrong issuer": lambda bf: bf.token(iss="https://sts.windows.net/someone/"),
    "wrong audience": lambda bf: bf.token(aud="00000000-0000-0000-0000-000000000000"),
    "expired beyond the skew": lambda bf: bf.token(exp=int(time.time()) - 400, iat=int(time.time()) - 4000),
    "not valid yet": lambda bf: bf.token(nbf=int(time.time()) + 900),
    "serviceUrl mismatch": lambda bf: bf.token(serviceurl="https://evil.example/connector/"),
    "no serviceUrl claim": lambda bf: bf.token(serviceurl=None),
    "HS256": lambda bf: bf.token(algorithm="HS256"),
    "alg none": lambda bf: bf.token(algorithm="none"),
    "unknown key id": lambda bf: bf.token(kid="not-published"),
    "signed by another key": lambda bf: bf.token(key=rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    "tampered": lambda bf: tampered(bf.token()),
}


@pytest.mark.parametrize("name", list(BAD_TOKENS))
def test_a_bad_token_is_refused_and_nothing_runs(teams_app, post, bot_framework, name):
    activity = bot_framework.invoke("composeExtension/submitAction", PROMPT_ONLY)
    response = post(activity, headers={"Authorization": f"Bearer {BAD_TOKENS[name](bot_framework)}"})
    assert response.status_code == 401, response.get_json()
    assert response.get_json()["error"]["code"] == "invalid_token"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert services(teams_app).store.jobs(ALICE) == []


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}], ids=["missing", "basic", "empty"]
)
def test_no_token_is_refused(teams_app, post, bot_framework, headers):
    response = post(bot_framework.invoke("composeExtension/submitAction", PROMPT_ONLY), headers=headers)
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthenticated"
    assert services(teams_app).store.jobs(ALICE) == []


def test_a_token_in_the_query_string_is_refused(teams_app, post, bot_framework):
    activity = bot_framework.invoke("composeExtension/submitAction", PROMPT_ONLY)
    response = post(activity, headers={}, access_token=bot_framework.token())
    assert response.status_code == 401 and "never in the URL" in response.get_json()["error"]["message"]
    assert services(teams_app).store.jobs(ALICE) == []


def test_an_activity_for_another_service_url_is_refused(teams_app, post, bot_framework):
    """The token is real, but the activity names a service URL the connector did not sign for."""
    activity = bot_framework.invoke("composeExtension/submitAction", PROMPT_ONLY, serviceUrl="https://evil.example/")
    assert post(activity).status_code == 401
    assert services(teams_app).store.jobs(ALICE) == []


def test_a_key_not_endorsed_for_the_channel_is_refused(post, bot_framework):
    activity = bot_framework.invoke("composeExtension/query", {"commandId": "recent"}, channelId="skype")
    response = post(activity)
    assert response.status_code == 401 and "endorsed" in response.get_json()["error"]["message"]


def test_the_clock_skew_allows_five_minutes(post, bot_framework):
    expired_a_minute_ago = bot_framework.token(exp=int(time.time()) - 60, iat=int(time.time()) - 3600)
    activity = bot_framework.invoke("composeExtension/query", {"commandId": "recent"})
    assert post(activity, headers={"Authorization": f"Bearer {expired_a_minute_ago}"}).status_code == 200


def test_the_keys_are_fetched_once_and_cached(post, bot_framework):
    before = bot_framework.key_fetches
    for _ in range(3):
        assert post(bot_framework.invoke("composeExtension/query", {"commandId": "recent"})).status_code == 200
    assert bot_framework.key_fetches == before + 1
