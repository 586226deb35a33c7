"""What the engine finds to run on: the device, the cores this process may use, the CPU's instruction sets and
whether a compiler for `torch.compile` is at hand. The speed plan (`speed_plan.py`) chooses its levers from this.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

#: CPU flags (as Linux spells them in /proc/cpuinfo) that mean bf16 runs natively, not emulated in fp32.
NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


@dataclass(frozen=True)
class Hardware:
    """The facts the speed levers depend on, read once when a model loads."""

    device_type: str
    #: Cores this process may run on (its CPU affinity), not the machine's total.
    cores: int
    cpu_flags: frozenset[str]
    #: A C++ compiler (CPU) or Triton (CUDA) that inductor needs to build kernels.
    can_compile: bool

    @classmethod
    def detect(cls, device_type: str) -> Hardware:
        return cls(
            device_type=device_type,
            cores=usable_cores(),
            cpu_flags=cpu_flags(),
            can_compile=_compiler_present(device_type),
        )

    @property
    def native_bf16(self) -> bool:
        return bool(self.cpu_flags & NATIVE_BF16_FLAGS)

    @property
    def avx512(self) -> bool:
        return "avx512f" in self.cpu_flags

    @property
    def amx(self) -> bool:
        return "amx_tile" in self.cpu_flags

    def describe(self) -> str:
        if self.device_type != "cpu":
            return f"{self.device_type}, {self.cores} CPU cores"
        extensions = [
            name
            for name, present in (("AVX2", "avx2" in self.cpu_flags), ("AVX-512", self.avx512), ("AMX", self.amx))
            if present
        ]
        bf16 = "native bf16" if self.native_bf16 else "no native bf16"
        return f"CPU, {self.cores} cores, {'/'.join(extensions) or 'no AVX2'}, {bf16}"


def usable_cores() -> int:
    """The cores the scheduler lets this process use (a container's or `taskset`'s share), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The first processor's flags from /proc/cpuinfo; empty where there is no such file."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def _compiler_present(device_type: str) -> bool:
    if device_type == "cuda":
        try:
            import triton  # noqa: F401
        except ImportError:
            return False
        return True
    if device_type == "cpu":
        return any(shutil.which(name) for name in ("g++", "c++", "clang++"))
    return False
