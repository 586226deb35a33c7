"""The shared diffusion engine: diffusers pipelines behind one owner thread per model, with dynamic batching.

Layer rule: nothing in `engine` imports Flask. `engine.api`, `engine.errors` and `engine.settings` import no
torch either, so the web tier can use them without loading a model; `engine.local` and `engine.models` do.
"""

from __future__ import annotations
