"""The Flask side of the image generator: HTTP API, identity, documents, task pane, CLI.

Layer rule: nothing in `addin_server` imports torch. It reaches the engine only through the light API in
`engine.api` (and builds a `LocalEngine` through `addin_server.engine_factory`, which imports it lazily).
"""

from __future__ import annotations
