"""The pages a person opens: only Office may frame them, only this server and Office's CDN run scripts."""

from __future__ import annotations

from addin_server.images.presets import shape_sizes


def test_the_task_pane_sends_its_security_headers(client):
    page = client.get("/taskpane")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self' https://appsforoffice.microsoft.com;" in policy
    assert "frame-ancestors 'self' " in policy and "https://*.officeapps.live.com" in policy
    assert "object-src 'none'" in policy and "'unsafe-inline'" not in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff" and page.headers["Referrer-Policy"] == "no-referrer"


def test_the_task_pane_computes_its_shape_sizes_once_per_model(client):
    client.get("/taskpane")
    before = shape_sizes.cache_info()
    client.get("/taskpane")
    after = shape_sizes.cache_info()
    assert after.hits == before.hits + 1 and after.misses == before.misses


def test_every_answer_says_no_sniffing(client):
    assert client.get("/healthz").headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/api/jobs/nope").headers["X-Content-Type-Options"] == "nosniff"
