"""PowerPoint and Word files: fill image markers in existing files, and build decks and reports from a spec.

Layer rule: nothing here imports Flask or torch. Images come from an `EngineClient` (engine.api), so the
same code serves the HTTP API, the CLI and the benchmark.
"""
