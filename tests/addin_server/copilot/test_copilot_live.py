"""The plugin's operations through a real `addin-server serve`, as Copilot calls them: a token whose audience is
the App ID URI gives pictures, and each picture URL fetches without a token as a PNG."""

from __future__ import annotations

import io

import requests
from PIL import Image

from tests.addin_server.copilot.conftest import APP_ID_URI
from tests.addin_server.live_server import LiveServer


def test_copilot_through_a_real_server(test_model_dir, tmp_path, provider):
    env = {**provider.server_env(), "ENTRA_APP_ID_URI": APP_ID_URI, "SERVER_SECRET_KEY": "live secret"}
    server = LiveServer(test_model_dir, tmp_path / "copilot", env=env).start()
    try:
        headers = {"Authorization": f"Bearer {provider.token(aud=APP_ID_URI)}"}
        body = {"prompt": "a yellow star", "shape": "tall", "n": 2}
        answer = requests.post(f"{server.url}/api/copilot/images", json=body, headers=headers, timeout=30).json()
        assert answer["status"] == "succeeded" and len(answer["images"]) == 2
        for image in answer["images"]:
            for url in (image["url"], image["thumbnail_url"]):
                picture = requests.get(url, timeout=10)  # no token
                assert picture.status_code == 200 and picture.headers["Content-Type"] == "image/png"
                width, height = Image.open(io.BytesIO(picture.content)).size
                assert height > width  # tall
        again = requests.get(f"{server.url}/api/copilot/images/{answer['job_id']}", headers=headers, timeout=30)
        assert [image["seed"] for image in again.json()["images"]] == [image["seed"] for image in answer["images"]]
        refused = requests.post(f"{server.url}/api/copilot/images", json=body, timeout=10)
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    finally:
        server.stop()
