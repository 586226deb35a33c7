"""`create_app(config, engine)`: the app runs on whatever `EngineClient` it is given, and owns it."""

from __future__ import annotations

from addin_server.app import create_app, shutdown_app
from addin_server.services import services
from engine.local import LocalEngine
from engine.settings import EngineSettings
from tests.addin_server.conftest import make_config, wait_for_job


def test_the_app_serves_jobs_on_the_engine_it_is_given(test_model_dir, tmp_path):
    engine = LocalEngine(EngineSettings(default_model=str(test_model_dir), max_batch=3))
    app = create_app(make_config(test_model_dir, tmp_path), engine=engine)
    client = app.test_client()
    try:
        assert services(app).engine is engine
        assert client.get("/readyz").get_json()["models"] == engine.model_names()
        batches = []
        engine.observe_batches(batches.append)
        created = client.post("/api/jobs", json={"prompt": "a red circle", "n": 2, "seed": 3}).get_json()
        job = wait_for_job(client, created["id"])
        assert job["status"] == "succeeded" and [image["seed"] for image in job["images"]] == [3, 4]
        assert any(created["id"] in batch.job_ids for batch in batches)  # it went to this engine
        assert created["id"] not in engine._jobs  # recorded, so the engine let its copy go
        metrics = client.get("/metrics").get_data(as_text=True)
        assert 'addin_images_generated_total{model="tiny"} 2.0' in metrics  # its batches reach the metrics
    finally:
        shutdown_app(app)
    assert not engine.is_ready()  # the app closed the engine it owns


def test_jobs_and_documents_share_one_store(test_model_dir, tmp_path):
    app = create_app(make_config(test_model_dir, tmp_path))
    try:
        parts = services(app)
        assert parts.documents.database == parts.store.database
        assert sorted(path.name for path in tmp_path.glob("*.sqlite3")) == ["images.sqlite3"]
    finally:
        shutdown_app(app)
