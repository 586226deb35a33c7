"""Scheduler names a request may use, mapped to diffusers classes, and the per-model choice among them."""

from __future__ import annotations

from typing import Any

#: Short, stable names for the schedulers people ask for; the class names are diffusers'.
SCHEDULER_CLASSES = {
    "ddim": "DDIMScheduler",
    "ddpm": "DDPMScheduler",
    "pndm": "PNDMScheduler",
    "lms": "LMSDiscreteScheduler",
    "euler": "EulerDiscreteScheduler",
    "euler_a": "EulerAncestralDiscreteScheduler",
    "heun": "HeunDiscreteScheduler",
    "dpmpp_2m": "DPMSolverMultistepScheduler",
    "dpmpp_sde": "DPMSolverSDEScheduler",
    "unipc": "UniPCMultistepScheduler",
    "deis": "DEISMultistepScheduler",
    "flow_euler": "FlowMatchEulerDiscreteScheduler",
    "flow_heun": "FlowMatchHeunDiscreteScheduler",
}


class SchedulerChoice:
    """The schedulers one pipeline can run, built from its own scheduler's config and kept for reuse.

    A scheduler is stateful, so only the model's owner thread may use what this hands out.
    """

    def __init__(self, base: Any) -> None:
        self._base = base
        own_class = type(base).__name__
        compatible = {cls.__name__ for cls in getattr(base, "compatibles", [])} | {own_class}
        self._names = [name for name, class_name in SCHEDULER_CLASSES.items() if class_name in compatible]
        self.default_name = next(
            (name for name, class_name in SCHEDULER_CLASSES.items() if class_name == own_class), own_class
        )
        if self.default_name not in self._names:
            self._names.insert(0, self.default_name)
        self._instances: dict[str, Any] = {self.default_name: base}

    def names(self) -> list[str]:
        return list(self._names)

    def get(self, name: str | None) -> Any:
        """The scheduler instance for `name` (None: the model's own)."""
        name = name or self.default_name
        if name not in self._instances:
            import diffusers

            scheduler_class = getattr(diffusers, SCHEDULER_CLASSES[name])
            self._instances[name] = scheduler_class.from_config(self._base.config)
        return self._instances[name]
