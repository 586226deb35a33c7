"""Card pictures are served at unguessable, expiring links that work without a token, at most 1024×1024, and
answer 404 once expired, altered or deleted."""

from __future__ import annotations

import io

from PIL import Image

from addin_server.images.public_api import public_image_url
from addin_server.images.public_links import PublicLinks
from addin_server.images.store import NewImage
from addin_server.services import services
from addin_server.teams.cards import CARD_LIMIT_BYTES, card_bytes, picture_card
from engine.api import MAX_PROMPT_CHARS, GenerationRequest, JobState
from tests.addin_server.auth.conftest import PUBLIC_URL
from tests.addin_server.teams.conftest import ALICE, make_images, public_path
from tests.identity_provider import TENANT


def link_for(app, image_id: str, side: int = 1024) -> str:
    with app.test_request_context():
        return public_image_url(image_id, side)


def big_image(app, owner: str, width: int, height: int, prompt: str):
    """A stored picture larger than Teams shows (the tiny test model cannot draw one)."""
    store = services(app).store
    store.add_job("big-job", owner, GenerationRequest(prompt=prompt, width=width, height=height))
    png = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(png, format="PNG")
    store.finish_job("big-job", JobState.SUCCEEDED, [NewImage(png.getvalue(), 7, 0)])
    record = store.job("big-job", owner)
    assert record is not None
    return record.images[0]


def test_a_link_fetches_without_a_token_and_is_downscaled_to_1024(teams_app):
    image = big_image(teams_app, ALICE, 2048, 1536, "a wide red field")
    url = link_for(teams_app, image.id)
    assert url.startswith(f"{PUBLIC_URL}/public/images/") and image.id not in url
    response = teams_app.test_client().get(public_path(url))
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert Image.open(io.BytesIO(response.data)).size == (1024, 768)
    assert "public" in response.headers["Cache-Control"] and response.headers["Referrer-Policy"] == "no-referrer"


def test_a_forged_or_altered_link_is_a_404(teams_app):
    [image] = make_images(teams_app, ALICE, "a red circle")
    path = public_path(link_for(teams_app, image.id))
    client = teams_app.test_client()
    token = path.rsplit("/", 1)[1].removesuffix(".png")
    altered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    other_secret = PublicLinks("another server's secret", 3600).token(image.id)
    for bad in (altered, other_secret, image.id, "", "x.y"):
        response = client.get(f"/public/images/{bad}.png")
        assert response.status_code == 404 and response.get_json()["error"]["code"] in ("image_not_found", "not_found")
    assert client.get("/public/images/").status_code == 404  # nothing is listed


def test_a_link_expires(teams_app):
    [image] = make_images(teams_app, ALICE, "a red circle")
    now = [1_000_000.0]
    services(teams_app).public_links = PublicLinks("test secret", ttl_s=60, clock=lambda: now[0])
    path = public_path(link_for(teams_app, image.id))
    client = teams_app.test_client()
    assert client.get(path).status_code == 200
    now[0] += 61
    assert client.get(path).status_code == 404


def test_a_deleted_image_takes_its_links_with_it(teams_app, provider):
    [image] = make_images(teams_app, ALICE, "a red circle")
    path = public_path(link_for(teams_app, image.id))
    client = teams_app.test_client()
    assert client.get(path).status_code == 200
    bob = {"Authorization": f"Bearer {provider.token(oid='user-bob')}"}
    assert client.delete(f"/api/images/{image.id}", headers=bob).status_code == 404  # not Bob's to delete
    assert client.get(path).status_code == 200
    alice = {"Authorization": f"Bearer {provider.token(oid='user-alice', tid=TENANT)}"}
    assert client.delete(f"/api/images/{image.id}", headers=alice).status_code == 204
    assert client.get(path).status_code == 404
    assert client.get(f"/api/images/{image.id}", headers=alice).status_code == 404


def test_the_card_with_the_largest_picture_and_prompt_stays_under_28_kb(teams_app):
    prompt = ("a very long prompt with many words " * 100)[:MAX_PROMPT_CHARS]
    image = big_image(teams_app, ALICE, 4096, 4096, prompt)
    card = picture_card(image, link_for(teams_app, image.id))
    assert card_bytes(card) < CARD_LIMIT_BYTES
    assert "data:" not in str(card)
