"""The message extension's invokes with the shapes the Teams documentation shows, answered at once."""

from __future__ import annotations

import io
import time
import urllib.parse

import pytest
from PIL import Image

from addin_server.services import services
from tests.addin_server.auth.conftest import PUBLIC_URL
from tests.addin_server.teams.conftest import ALICE, BOB, make_images, public_path
from tests.identity_provider import OTHER_TENANT, TENANT


def search(post, bot_framework, text: str = "", skip: int = 0, count: int = 25, user: str = "user-alice"):
    value = {
        "commandId": "recent",
        "parameters": [{"name": "query", "value": text}],
        "queryOptions": {"skip": skip, "count": count},
    }
    response = post(bot_framework.invoke("composeExtension/query", value, user=user))
    assert response.status_code == 200
    return response.get_json()["composeExtension"]


def card_picture_url(card: dict) -> str:
    return next(element["url"] for element in card["body"] if element["type"] == "Image")


def fetch_png(teams_app, url: str) -> Image.Image:
    response = teams_app.test_client().get(public_path(url))  # no Authorization header
    assert response.status_code == 200 and response.mimetype == "image/png"
    return Image.open(io.BytesIO(response.data))


def test_search_lists_only_the_callers_pictures_whose_prompt_matches(teams_app, post, bot_framework):
    make_images(teams_app, ALICE, "a red circle", n=2)
    make_images(teams_app, ALICE, "a blue square")
    make_images(teams_app, BOB, "a red circle of bob's")
    result = search(post, bot_framework, "CIRCLE")
    assert result["type"] == "result" and result["attachmentLayout"] == "list"
    assert [hit["content"]["body"][0]["text"] for hit in result["attachments"]] == ["a red circle"] * 2
    for hit in result["attachments"]:
        assert hit["contentType"] == "application/vnd.microsoft.card.adaptive"
        preview = hit["preview"]
        assert preview["contentType"] == "application/vnd.microsoft.card.thumbnail"
        thumbnail = fetch_png(teams_app, preview["content"]["images"][0]["url"])
        assert max(thumbnail.size) <= 256
        assert preview["content"]["tap"]["type"] == "invoke"
    everything = search(post, bot_framework)
    assert [hit["content"]["body"][0]["text"] for hit in everything["attachments"]][0] == "a blue square"  # newest
    assert len(everything["attachments"]) == 3
    bobs = search(post, bot_framework, user="user-bob")
    assert [hit["content"]["body"][0]["text"] for hit in bobs["attachments"]] == ["a red circle of bob's"]


def test_search_pages_with_skip_and_count(teams_app, post, bot_framework):
    make_images(teams_app, ALICE, "a green star", n=3)
    first = search(post, bot_framework, "star", skip=0, count=2)["attachments"]
    rest = search(post, bot_framework, "star", skip=2, count=2)["attachments"]
    assert len(first) == 2 and len(rest) == 1
    seeds = [hit["content"]["body"][2]["text"] for hit in first + rest]
    assert len(set(seeds)) == 3
    nothing = search(post, bot_framework, "no such words")
    assert nothing["type"] == "message" and "No pictures" in nothing["text"]


def test_a_skip_past_any_number_pages_to_nothing(teams_app, post, bot_framework):
    make_images(teams_app, ALICE, "a green star")
    far = search(post, bot_framework, "star", skip=10**30)  # was an OverflowError, a 500
    assert far.get("attachments", []) == []


def test_only_the_teams_channel_is_answered(teams_app, post, bot_framework):
    """The same bot reached through Web Chat carries no Teams identity: a Bot Framework token for it must not let
    anyone search someone else's pictures by naming their object id and tenant."""
    make_images(teams_app, ALICE, "alice's secret circle")
    value = {"commandId": "recent", "parameters": [{"name": "query", "value": "circle"}]}
    webchat = bot_framework.invoke("composeExtension/query", value, user="user-alice", channelId="webchat")
    del webchat["conversation"]["tenantId"]
    answer = post(webchat)
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "unsupported_channel"
    assert "alice's secret circle" not in answer.get_data(as_text=True)
    two_tenants = bot_framework.invoke("composeExtension/query", value, user="user-alice")
    two_tenants["channelData"]["tenant"]["id"] = OTHER_TENANT
    refused = post(two_tenants)
    assert refused.status_code == 400 and "two tenants" in refused.get_json()["error"]["message"]


def test_choosing_a_search_hit_posts_its_card(teams_app, post, bot_framework):
    [image] = make_images(teams_app, ALICE, "a yellow heart")
    response = post(bot_framework.invoke("composeExtension/selectItem", {"image_id": image.id}))
    [attachment] = response.get_json()["composeExtension"]["attachments"]
    assert fetch_png(teams_app, card_picture_url(attachment["content"])).size == (image.width, image.height)
    bobs = post(bot_framework.invoke("composeExtension/selectItem", {"image_id": image.id}, user="user-bob"))
    assert bobs.get_json()["composeExtension"]["type"] == "message"


def test_the_generate_command_opens_the_dialog(post, bot_framework):
    value = {"commandId": "generate", "commandContext": "compose", "context": {"theme": "default"}}
    task = post(bot_framework.invoke("composeExtension/fetchTask", value)).get_json()["task"]
    assert task["type"] == "continue"
    url = urllib.parse.urlparse(task["value"]["url"])
    assert f"{url.scheme}://{url.netloc}" == PUBLIC_URL and url.path == "/teams/dialog" and not url.query
    assert task["value"]["title"] and task["value"]["width"] and task["value"]["height"]


def test_from_a_message_its_text_is_the_starting_prompt(teams_app, post, bot_framework):
    value = {
        "commandId": "generate",
        "commandContext": "message",
        "messagePayload": {
            "id": "1668",
            "body": {"contentType": "html", "content": "<p>our <b>product</b> on a desk &amp; a lamp</p>"},
        },
    }
    task = post(bot_framework.invoke("composeExtension/fetchTask", value)).get_json()["task"]
    url = urllib.parse.urlparse(task["value"]["url"])
    # In the fragment, which browsers never send: the message's text reaches no access log.
    assert not url.query and urllib.parse.parse_qs(url.fragment)["prompt"] == ["our product on a desk & a lamp"]
    page = teams_app.test_client().get(public_path_of(task["value"]["url"]))
    assert page.status_code == 200 and "our product" not in page.get_data(as_text=True)
    assert "teams.microsoft.com" in page.headers["Content-Security-Policy"]


def public_path_of(url: str) -> str:
    parsed = urllib.parse.urlparse(url)
    return f"{parsed.path}?{parsed.query}"


def test_submitting_the_dialogs_choice_posts_the_card(teams_app, post, bot_framework):
    [image] = make_images(teams_app, ALICE, "a purple triangle")
    value = {"commandId": "generate", "commandContext": "compose", "data": {"image_id": image.id}}
    result = post(bot_framework.invoke("composeExtension/submitAction", value)).get_json()["composeExtension"]
    [attachment] = result["attachments"]
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    assert card["body"][0]["text"] == "a purple triangle"
    assert card["body"][1]["altText"] == "a purple triangle"
    assert image.model in card["body"][2]["text"]
    assert fetch_png(teams_app, card_picture_url(card)).size == (image.width, image.height)
    someone_elses = post(bot_framework.invoke("composeExtension/submitAction", value, user="user-bob")).get_json()
    assert "no longer available" in someone_elses["task"]["value"]


def test_a_prompt_alone_is_answered_with_the_card_when_ready_in_time(teams_app, post, bot_framework):
    value = {"commandId": "generate", "commandContext": "compose", "data": {"prompt": "a red circle"}}
    started = time.monotonic()
    result = post(bot_framework.invoke("composeExtension/submitAction", value)).get_json()
    assert time.monotonic() - started < 5
    [attachment] = result["composeExtension"]["attachments"]
    assert attachment["content"]["body"][0]["text"] == "a red circle"
    [job] = services(teams_app).store.jobs(ALICE)
    assert job.request["prompt"] == "a red circle" and job.request["n"] == 1


def test_a_slow_prompt_gets_a_progress_dialog_and_a_retry_follows_the_same_job(make_teams_app, bot_framework):
    app = make_teams_app(teams={"invoke_wait_s": 0.0})
    client = app.test_client()
    data = {"prompt": "a blue star", "shape": "wide", "style": "watercolour"}
    activity = bot_framework.invoke(
        "composeExtension/submitAction", {"commandId": "generate", "commandContext": "compose", "data": data}
    )
    answers = [client.post("/api/messages", json=activity, headers=bot_framework.headers()) for _ in range(3)]
    tasks = [answer.get_json()["task"] for answer in answers]
    assert all(task["type"] == "continue" for task in tasks)
    [job] = services(app).store.jobs(ALICE)  # three deliveries of one invoke: one job
    assert {urllib.parse.parse_qs(urllib.parse.urlparse(t["value"]["url"]).query)["job"][0] for t in tasks} == {job.id}
    assert job.request["prompt"] == "a blue star, watercolour painting" and job.request["width"] > job.request["height"]


def test_a_tenant_that_is_not_allowed_gets_a_card_and_no_job(teams_app, post, bot_framework):
    value = {"commandId": "generate", "commandContext": "compose", "data": {"prompt": "a red circle"}}
    answer = post(bot_framework.invoke("composeExtension/submitAction", value, tenant=OTHER_TENANT)).get_json()
    card = answer["task"]["value"]["card"]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert "not allowed" in card["content"]["body"][1]["text"]
    fetch = {"commandId": "generate", "commandContext": "compose"}
    answer = post(bot_framework.invoke("composeExtension/fetchTask", fetch, tenant=OTHER_TENANT)).get_json()
    assert "not allowed" in answer["task"]["value"]["card"]["content"]["body"][1]["text"]
    searched = post(bot_framework.invoke("composeExtension/query", {"commandId": "recent"}, tenant=OTHER_TENANT))
    assert "not allowed" in searched.get_json()["composeExtension"]["text"]
    assert services(teams_app).store.jobs(f"{OTHER_TENANT}:user-alice") == []


def test_a_plain_message_gets_the_help_card(post, bot_framework, provider):
    before = len(bot_framework.replies)
    message = bot_framework.activity("message", text="hello")
    response = post(message)
    assert response.status_code == 200 and response.data == b""
    deadline = time.monotonic() + 15
    while len(bot_framework.replies) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(bot_framework.replies) == before + 1
    reply = bot_framework.replies[-1]
    conversation = urllib.parse.quote(message["conversation"]["id"], safe="")
    assert reply["path"] == f"/connector/v3/conversations/{conversation}/activities/{urllib.parse.quote(message['id'])}"
    assert reply["authorization"] == "Bearer bot-token-for-99999999-8888-7777-6666-555555555555"
    assert provider.client_credentials[-1]["scope"].startswith("https://api.botframework.com/.default")
    body = reply["body"]
    assert body["replyToId"] == message["id"] and body["recipient"]["id"] == message["from"]["id"]
    assert "Generate an image" in body["attachments"][0]["content"]["body"][1]["text"]


def test_an_unknown_invoke_gets_the_empty_answer(post, bot_framework):
    response = post(bot_framework.invoke("composeExtension/onCardButtonClicked", {}))
    assert response.status_code == 200 and response.get_json() == {}
    assert post(bot_framework.activity("conversationUpdate")).status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        {"from": None},
        {"conversation": "not an object"},
        {"type": None},
    ],
)
def test_a_malformed_activity_is_a_400(teams_app, post, bot_framework, change):
    activity = {**bot_framework.invoke("composeExtension/query", {"commandId": "recent"}), **change}
    response = post({key: value for key, value in activity.items() if value is not None})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_activity"


def test_a_malformed_invoke_value_is_a_400(post, bot_framework):
    value = {"commandId": "generate", "commandContext": "somewhere else", "data": {"prompt": "x"}}
    response = post(bot_framework.invoke("composeExtension/submitAction", value))
    assert response.status_code == 400 and "commandContext" in response.get_json()["error"]["message"]


def test_a_teams_picture_is_in_the_task_panes_history(teams_app, post, bot_framework, provider):
    """The same tid:oid owner: a picture made in Teams shows up for the same person's Entra token."""
    value = {"commandId": "generate", "commandContext": "compose", "data": {"prompt": "a pink diamond"}}
    post(bot_framework.invoke("composeExtension/submitAction", value))
    token = provider.token(oid="user-alice", tid=TENANT, aud=services(teams_app).config.identity.client_id)
    jobs = teams_app.test_client().get("/api/jobs", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert [job["request"]["prompt"] for job in jobs["data"]] == ["a pink diamond"]
