"""`torch.compile` without a slow start: the denoiser and the VAE decoder keep serving eagerly while a background
thread compiles each input shape they meet; from then on that shape runs compiled.

On a 2-core CPU one shape takes a minute or more to compile (far longer with dynamic shapes, which also ran
slower), so compiling before serving would make the first request wait that long. Instead each module's
`forward` is gated: a shape that is compiled runs the compiled graph, any other runs eagerly and is queued for
the compiler. Inductor's kernels are kept in `cache_dir`, so a restart compiles faster.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)

#: A call's shape signature: tensor shapes and dtypes, and the plain values of the other arguments.
ShapeKey = tuple[Hashable, ...]


class BackgroundCompiler:
    """Compiles gated modules' shapes one at a time, each on a thread of its own that ends when it is done.

    A thread that runs torch keeps an OpenMP thread team for as long as it lives, and inductor's kernels ask for
    every core; two teams on few cores slowed each picture about 1.6x. A compile thread that ends takes its team
    with it, so once compiling is over the owner thread's team is the only one again."""

    def __init__(self, cache_dir: Path | None, freeze_weights: bool = True) -> None:
        _configure_inductor(cache_dir, freeze_weights)
        self._work: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition()
        self._dispatcher = threading.Thread(target=self._dispatch, name="engine-compiler", daemon=True)
        self._dispatcher.start()

    def gate(self, module: torch.nn.Module, label: str) -> GatedForward:
        """Make `module.forward` run compiled for shapes this compiler has finished, eagerly for the rest."""
        gated = GatedForward(module, label, self)
        module.forward = gated
        return gated

    def schedule(self, job: Callable[[], None]) -> None:
        with self._idle:
            self._pending += 1
        self._work.put(job)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every scheduled shape is compiled; False if `timeout` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def stop(self) -> None:
        self._work.put(None)

    def _dispatch(self) -> None:
        """Runs no torch itself: it starts one thread per shape and waits for it."""
        while (job := self._work.get()) is not None:
            worker = threading.Thread(target=self._run_one, args=(job,), name="engine-compiling", daemon=True)
            worker.start()
            worker.join()

    def _run_one(self, job: Callable[[], None]) -> None:
        try:
            job()
        except Exception:  # a shape that does not compile keeps running eagerly
            log.exception("torch.compile failed; that shape keeps running without it")
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()


class GatedForward:
    """A module's `forward`: compiled for the shapes in `ready`, eager otherwise (and then queued to compile)."""

    def __init__(self, module: torch.nn.Module, label: str, compiler: BackgroundCompiler) -> None:
        self.label = label
        self._eager = type(module).forward.__get__(module)
        self._compiled = torch.compile(self._eager)
        self._compiler = compiler
        self._lock = threading.Lock()
        self.ready: set[ShapeKey] = set()
        self._queued: set[ShapeKey] = set()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        key = shape_key(args, kwargs)
        if key in self.ready:
            return self._compiled(*args, **kwargs)
        with self._lock:
            if key not in self._queued:
                self._queued.add(key)
                stand_ins = (_stand_in(args), _stand_in(kwargs))
                self._compiler.schedule(lambda: self._compile(key, *stand_ins))
        return self._eager(*args, **kwargs)

    def _compile(self, key: ShapeKey, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        started = time.perf_counter()
        with torch.inference_mode():
            self._compiled(*args, **kwargs)
        self.ready.add(key)
        shapes = [tuple(item.shape) for item in list(args) + list(kwargs.values()) if isinstance(item, torch.Tensor)]
        log.info("compiled the %s for inputs %s in %.0f s", self.label, shapes[:2], time.perf_counter() - started)


def shape_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> ShapeKey:
    """What makes a compiled graph reusable for a call: tensor shapes and dtypes, other values as they are."""

    def part(value: Any) -> Hashable:
        if isinstance(value, torch.Tensor):
            return ("tensor", tuple(value.shape), str(value.dtype), value.is_contiguous())
        if isinstance(value, dict):
            return ("dict", tuple(sorted((name, part(item)) for name, item in value.items())))
        if isinstance(value, (list, tuple)):
            return ("seq", tuple(part(item) for item in value))
        if value is None or isinstance(value, (bool, int, float, str)):
            return ("value", type(value).__name__, value if isinstance(value, (bool, str)) or value is None else 0)
        return ("object", type(value).__name__)

    return (part(args), part(kwargs))


def _stand_in(value: Any) -> Any:
    """A copy of `value` with fresh tensors of the same shape, so the compiler holds none of a live batch."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {name: _stand_in(item) for name, item in value.items()}
    if isinstance(value, tuple):
        return tuple(_stand_in(item) for item in value)
    if isinstance(value, list):
        return [_stand_in(item) for item in value]
    return value


def _configure_inductor(cache_dir: Path | None, freeze_weights: bool) -> None:
    """Static shapes (one graph per shape, never a slow dynamic one), weights frozen into the graph (oneDNN
    can then pre-pack them), and the kernel cache in `cache_dir`."""
    import torch._dynamo.config as dynamo_config
    import torch._inductor.config as inductor_config

    if cache_dir is not None:  # torch sets this variable itself on import, so it is always overridden here
        cache_dir.mkdir(parents=True, exist_ok=True)
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(cache_dir)
    dynamo_config.automatic_dynamic_shapes = False
    dynamo_config.cache_size_limit = max(dynamo_config.cache_size_limit, 64)
    if freeze_weights:
        inductor_config.freezing = True
