"""Entra ID tokens on every route, against a local OpenID provider over HTTPS: the adversarial battery
answers 401/403 (never 500), a good token gets in, and two users never see each other's work."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from addin_server.config import Config, ConfigError
from addin_server.services import services
from tests.addin_server.auth.conftest import bearer
from tests.addin_server.conftest import wait_for_job
from tests.identity_provider import CLIENT_ID, OTHER_TENANT, TENANT


def test_a_valid_v2_token_gets_in_as_tenant_and_object_id(client, provider):
    response = client.post("/api/jobs", json={"prompt": "signed in"}, headers=bearer(provider.token()))
    assert response.status_code == 202
    job_id = response.get_json()["id"]
    assert client.get(f"/api/jobs/{job_id}", headers=bearer(provider.token())).status_code == 200


def test_a_v1_token_with_the_app_id_uri_and_the_sts_issuer(client, provider):
    token = provider.token(aud=f"api://addin.test/{CLIENT_ID}", iss=f"https://sts.windows.net/{TENANT}/", ver="1.0")
    assert client.get("/api/jobs", headers=bearer(token)).status_code == 200


def _forged_none(provider) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT', 'kid': provider.current_kid})}.{part(provider.claims())}."


def _hs256_with_public_key(provider) -> str:
    import hashlib
    import hmac

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    signing_input = f"{part({'alg': 'HS256', 'typ': 'JWT', 'kid': provider.current_kid})}.{part(provider.claims())}"
    signature = hmac.new(provider.public_pem(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).decode().rstrip('=')}"


def _tampered(provider) -> str:
    header, payload, signature = provider.token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["oid"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{signature}"


BATTERY = {
    "expired": (lambda p: p.token(exp=int(time.time()) - 600, iat=int(time.time()) - 4000), 401, "expired"),
    "not yet valid": (lambda p: p.token(nbf=int(time.time()) + 600), 401, "not valid yet"),
    "wrong audience": (lambda p: p.token(aud="99999999-0000-0000-0000-000000000000"), 401, "audience"),
    "wrong issuer": (lambda p: p.token(iss=f"https://evil.example/{TENANT}/v2.0"), 401, "issuer"),
    "issuer of another tenant": (lambda p: p.token(iss=f"{p.base_url}/{OTHER_TENANT}/v2.0"), 401, "issuer"),
    "tenant not allowed": (lambda p: p.token(tid=OTHER_TENANT), 403, "tenant"),
    "alg none": (_forged_none, 401, "RS256"),
    "HS256 with the public key": (_hs256_with_public_key, 401, "RS256"),
    "unknown kid": (
        lambda p: jwt.encode(p.claims(), p.keys[p.current_kid], algorithm="RS256", headers={"kid": "no-such-key"}),
        401,
        "unknown key",
    ),
    "tampered payload": (_tampered, 401, "not valid"),
    "missing scope": (lambda p: p.token(scp="User.Read"), 403, "access_as_user"),
    "app-only token": (lambda p: p.token(scp=None, roles=["Images.Generate"], idtyp="app"), 403, "scope"),
    "no tid": (lambda p: p.token(tid=None, iss=f"{p.base_url}/{TENANT}/v2.0"), 401, "tid"),
    "malformed": (lambda p: "not.a.jwt", 401, "malformed"),
    "oversized": (lambda p: "a" * 20000, 401, "too long"),
}


@pytest.mark.parametrize("case", list(BATTERY))
def test_bad_tokens_are_refused_never_500(client, provider, case):
    make_token, status, words = BATTERY[case]
    response = client.get("/api/jobs", headers=bearer(make_token(provider)))
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert words in error["message"]
    if status == 401:
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer error="invalid_token", error_description="')
        # A well-formed header: the description is one quoted string with no quote or backslash inside.
        description = challenge.split('error_description="', 1)[1]
        assert description.endswith('"') and '"' not in description[:-1] and "\\" not in description


def test_no_token_or_a_token_in_the_url(client, provider):
    response = client.get("/api/jobs")
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    response = client.get(f"/api/jobs?access_token={provider.token()}")
    assert response.status_code == 401 and "Authorization header" in response.get_json()["error"]["message"]
    assert client.get("/healthz").status_code == 200  # probes ask no one


def test_every_user_route_asks_for_a_token(make_app):
    app = make_app()
    client = app.test_client()
    public = {
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/static/<path:filename>",
        "/auth/login",
        "/icons/icon-<int:size>.png",
        "/taskpane",
        "/taskpane/static/<path:filename>",
        "/auth/callback",
        "/public/images/<token>.png",  # signed links, for cards (tests/addin_server/teams/test_public_links.py)
    }
    for rule in app.url_map.iter_rules():
        if rule.rule in public:
            continue
        path = (
            rule.rule.replace("<string(length=32):document_id>", "0" * 32)
            .replace("<job_id>", "x")
            .replace("<image_id>", "x")
        )
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert client.open(path, method=method).status_code == 401, (method, path)


def test_app_only_tokens_with_an_allowed_role(make_app, provider):
    client = make_app(allowed_roles=("Images.Generate",)).test_client()
    token = provider.token(scp=None, roles=["Images.Generate"], idtyp="app", azp="some-app")
    assert client.get("/api/jobs", headers=bearer(token)).status_code == 200


def test_key_rotation_is_followed_with_one_refetch(make_app, provider):
    app = make_app()
    services(app).authenticator.signing_keys.refetch_cooldown_s = 0.5  # 30 s in production
    client = app.test_client()
    assert client.get("/api/jobs", headers=bearer(provider.token())).status_code == 200
    time.sleep(0.6)
    fetches = provider.requests.count("GET /common/discovery/v2.0/keys")
    new_kid = provider.rotate()
    for _ in range(3):
        assert client.get("/api/jobs", headers=bearer(provider.token(kid=new_kid))).status_code == 200
    assert provider.requests.count("GET /common/discovery/v2.0/keys") == fetches + 1


def test_a_key_removed_from_the_jwks(make_app, provider):
    old_kid = provider.current_kid
    old_token = provider.token(kid=old_kid)
    provider.rotate()
    removed = provider.keys.pop(old_kid)
    try:
        response = make_app().test_client().get("/api/jobs", headers=bearer(old_token))
        assert response.status_code == 401 and "unknown key" in response.get_json()["error"]["message"]
    finally:
        provider.keys[old_kid] = removed


def test_the_key_endpoint_failing_answers_503_never_lets_in(make_app, provider):
    provider.fail_keys = True
    try:
        response = make_app().test_client().get("/api/jobs", headers=bearer(provider.token()))
        assert response.status_code == 503 and response.get_json()["error"]["code"] == "identity_unavailable"
    finally:
        provider.fail_keys = False


def test_two_users_never_see_each_other(client, provider):
    alice, bob = bearer(provider.token(oid="alice")), bearer(provider.token(oid="bob", name="Bob"))
    job = wait_for_job(
        client, client.post("/api/jobs", json={"prompt": "alice's"}, headers=alice).get_json()["id"], alice
    )
    image = f"/api/images/{job['images'][0]['id']}"
    assert client.get(image, headers=alice).status_code == 200
    for path in (f"/api/jobs/{job['id']}", image, f"/api/jobs/{job['id']}/events"):
        assert client.get(path, headers=bob).status_code == 404
    assert client.get("/api/jobs", headers=bob).get_json()["data"] == []
    document = client.post("/api/documents", json={"title": "Alice's deck"}, headers=alice).get_json()
    assert client.get(f"/api/documents/{document['id']}/status", headers=bob).status_code == 404


def test_configuration_errors_name_the_variable():
    base = {"ENTRA_CLIENT_ID": CLIENT_ID}
    with pytest.raises(ConfigError, match="ENTRA_TENANT_ID is required"):
        Config.from_env(base)
    with pytest.raises(ConfigError, match="ENTRA_ALLOWED_TENANTS is required"):
        Config.from_env({**base, "ENTRA_TENANT_ID": "organizations"})
    with pytest.raises(ConfigError, match="ENTRA_CLIENT_ID must be a GUID"):
        Config.from_env({"ENTRA_CLIENT_ID": "my-app", "ENTRA_TENANT_ID": TENANT})
    identity = Config.from_env({**base, "ENTRA_TENANT_ID": TENANT, "SERVER_PUBLIC_URL": "https://addin.test"}).identity
    assert identity.allowed_tenants == (TENANT,) and identity.audiences == (CLIENT_ID,)


def test_a_public_address_is_allowed_only_with_entra(provider):
    import dataclasses

    from addin_server.config import ServerSettings
    from tests.addin_server.auth.conftest import identity_settings

    public = ServerSettings(host="0.0.0.0", public_url="https://images.contoso.example")
    with pytest.raises(ConfigError, match="refusing to listen on 0.0.0.0"):
        Config(server=public).validate()
    dataclasses.replace(Config(server=public), identity=identity_settings(provider)).validate()


def test_signed_in_servers_build_links_on_their_public_url_never_on_the_host_header(make_app, provider):
    from tests.addin_server.auth.conftest import PUBLIC_URL, identity_settings

    client = make_app().test_client()
    headers = {**bearer(provider.token()), "Host": "attacker.example"}
    created = client.post("/api/jobs", json={"prompt": "a red circle"}, headers=headers).get_json()
    job = wait_for_job(client, created["id"], headers)
    assert job["images"][0]["url"].startswith(f"{PUBLIC_URL}/api/images/")
    with pytest.raises(ConfigError, match="SERVER_PUBLIC_URL is required"):
        Config(identity=identity_settings(provider)).validate()


def test_the_sign_in_dialog_hands_a_working_token_to_the_task_pane(make_app, provider):
    import re
    import urllib.parse

    import requests

    from tests.addin_server.auth.conftest import PUBLIC_URL

    client = make_app().test_client()
    start = client.get("/auth/login")
    assert start.status_code == 302
    authorize = start.headers["Location"]
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(authorize).query))
    assert authorize.startswith(provider.base_url) and query["code_challenge_method"] == "S256"
    assert (
        query["state"] and query["nonce"] and query["redirect_uri"] == f"{PUBLIC_URL}/auth/callback"
    )  # never the Host header
    # The browser signs in at the provider, which redirects back with a code.
    back = requests.get(authorize, allow_redirects=False, verify=str(provider.ca_file), timeout=10).headers["Location"]
    page = client.get(back.replace(PUBLIC_URL, ""))
    assert page.status_code == 200 and "messageParent" in page.get_data(as_text=True)
    token = re.search(r'"accessToken": ?"([^"]+)"', page.get_data(as_text=True))[1]
    assert client.get("/api/jobs", headers=bearer(token)).status_code == 200
    # The flow cannot be replayed, and a forged state is refused.
    assert client.get(back.replace(PUBLIC_URL, "")).status_code == 400
    client.get("/auth/login")
    forged = client.get("/auth/callback?code=abc&state=forged")
    assert forged.status_code == 400 and "state" in forged.get_data(as_text=True)


def test_the_real_server_checks_tokens(test_model_dir, tmp_path, provider):
    from tests.addin_server.live_server import LiveServer

    server = LiveServer(
        test_model_dir,
        tmp_path / "instance",
        env={**provider.server_env(), "AUDIT_PROMPTS": "hash"},
    ).start()
    try:
        assert server.get("/api/jobs").status_code == 401
        response = server.post(
            "/v1/images/generations", {"prompt": "a signed-in circle"}, headers=bearer(provider.token(oid="live-user"))
        )
        assert response.status_code == 200 and response.json()["data"][0]["url"]
        assert server.get("/api/jobs", headers=bearer(provider.token(oid="someone-else"))).json()["data"] == []
    finally:
        server.stop()
    audit = [line for line in server.log().splitlines() if '"event": "images.generate"' in line]
    assert len(audit) == 1 and f'"tenant": "{TENANT}"' in audit[0] and '"user": "live-user"' in audit[0]
    assert "a signed-in circle" not in server.log() and '"prompt_sha256"' in audit[0]


def test_each_user_has_their_own_rate_limit(make_app, provider):
    client = make_app(rate_limit="2/minute").test_client()
    alice, bob = bearer(provider.token(oid="rate-alice")), bearer(provider.token(oid="rate-bob"))
    for _ in range(2):
        assert client.post("/api/jobs", json={"prompt": "x"}, headers=alice).status_code == 202
    limited = client.post("/api/jobs", json={"prompt": "x"}, headers=alice)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert client.post("/api/jobs", json={"prompt": "x"}, headers=bob).status_code == 202
    assert client.get("/api/jobs", headers=alice).status_code == 200  # reading is not limited


def test_one_budget_covers_every_route_and_surface_that_generates(make_app, provider):
    """RATE_LIMIT=2/minute allows two generations in all, not two per route (eight routes, eight times)."""
    from addin_server.errors import TooManyRequests
    from addin_server.rate_limit import count_generation

    app = make_app(rate_limit="2/minute")
    client = app.test_client()
    alice = bearer(provider.token(oid="budget-alice"))
    assert client.post("/api/jobs", json={"prompt": "x"}, headers=alice).status_code == 202
    assert client.post("/v1/images/generations", json={"prompt": "x"}, headers=alice).status_code == 200
    deck = {"title": "t", "slides": [{"title": "one", "image": "a star"}]}
    limited = client.post("/api/documents", json=deck, headers=alice)
    assert limited.status_code == 429 and limited.get_json()["error"]["code"] == "rate_limited"
    assert client.post("/v1/images/generations", json={"prompt": "x"}, headers=alice).status_code == 429
    with app.test_request_context(), pytest.raises(TooManyRequests):
        count_generation(f"{TENANT}:budget-alice")  # a Teams invoke draws on the same budget
    with app.test_request_context():
        count_generation(f"{TENANT}:budget-bob")  # someone else's is their own


def test_the_rate_limit_is_shared_through_redis(make_app, provider, redis_url):
    first, second = (make_app(rate_limit="3/minute", rate_limit_storage=redis_url).test_client() for _ in range(2))
    alice = bearer(provider.token(oid=f"redis-alice-{time.time()}"))
    statuses = [
        client.post("/api/jobs", json={"prompt": "x"}, headers=alice).status_code
        for client in (first, second, first, second)
    ]
    assert statuses == [202, 202, 202, 429]  # two processes, one count


def test_a_users_id_token_does_not_pass_as_an_app_only_token(make_app, provider):
    """An ID token has the client id as audience and no scp: with app roles allowed it must still be refused."""
    client = make_app(allowed_roles=("Images.Generate",)).test_client()
    id_token = provider.token(scp=None, roles=["Images.Generate"], nonce="n-123", sub="pairwise-sub")
    answer = client.get("/api/jobs", headers=bearer(id_token))
    assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "not_an_application_token"
    nameless = provider.token(scp=None, roles=["Images.Generate"], idtyp="app")  # which application?
    assert client.get("/api/jobs", headers=bearer(nameless)).status_code == 403


def test_each_application_is_its_own_owner(make_app, provider):
    client = make_app(allowed_roles=("Images.Generate",)).test_client()
    first = bearer(provider.token(scp=None, roles=["Images.Generate"], idtyp="app", azp="app-one", oid="sp-1"))
    second = bearer(  # a v1 app token: appid, and oid == sub for its service principal
        provider.token(scp=None, roles=["Images.Generate"], appid="app-two", oid="sp-2", sub="sp-2")
    )
    created = client.post("/api/jobs", json={"prompt": "a red circle"}, headers=first)
    assert created.status_code == 202
    job_id = created.get_json()["id"]
    assert client.get(f"/api/jobs/{job_id}", headers=first).status_code == 200
    assert client.get(f"/api/jobs/{job_id}", headers=second).status_code == 404
    assert client.get("/api/jobs", headers=second).get_json()["data"] == []
