"""Settings declared once: each is a dataclass field that names its environment variable, its default and one
line of documentation. `load_settings` reads a whole dataclass of them from the environment, and
`declared_settings` lists them (for `addin-server settings` and the README's tables).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from engine.errors import ConfigError

Settings = TypeVar("Settings")

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class SettingInfo:
    """What the declaration says about one setting besides its type and default."""

    variable: str
    doc: str
    minimum: float | None = None
    maximum: float | None = None
    #: The only values allowed (compared lower-cased).
    choices: tuple[str, ...] = ()
    #: Applied to the raw text before it is cast, e.g. to drop a trailing slash.
    clean: Callable[[str], str] | None = None
    #: How the documentation shows the default, where the value alone would not say it.
    shown_default: str | None = None


@dataclass(frozen=True)
class DeclaredSetting:
    """One setting as the documentation lists it."""

    info: SettingInfo
    default: Any
    kind: Any

    @property
    def shown_default(self) -> str:
        if self.info.shown_default is not None:
            return self.info.shown_default
        if isinstance(self.default, bool):
            return "on" if self.default else "off"
        if self.default in (None, "", ()):
            return "none"
        if isinstance(self.default, (int, float)):
            return _number(self.default)
        return str(self.default)


def setting(
    variable: str,
    default: Any,
    doc: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] = (),
    clean: Callable[[str], str] | None = None,
    shown_default: str | None = None,
) -> Any:
    """Declare a setting as a dataclass field: `ENGINE_MAX_BATCH` with default 8 and what it means."""
    info = SettingInfo(variable, doc, minimum, maximum, choices, clean, shown_default)
    return field(default=default, metadata={"setting": info})


def load_settings(cls: type[Settings], env: Mapping[str, str]) -> Settings:
    """An instance of the settings dataclass `cls`: each variable that is set, cast to its field's type."""
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for declared in fields(cls):  # type: ignore[arg-type]
        kind = hints[declared.name]
        if dataclasses.is_dataclass(kind):
            values[declared.name] = load_settings(kind, env)  # type: ignore[arg-type]
            continue
        info: SettingInfo | None = declared.metadata.get("setting")
        if info is None:
            continue
        raw = env.get(info.variable, "").strip()
        if info.clean is not None:
            raw = info.clean(raw)
        if raw:
            values[declared.name] = _cast(raw, kind, info)
    return cls(**values)


def declared_settings(cls: type) -> Iterator[DeclaredSetting]:
    """Every setting of `cls` (nested settings dataclasses included), in declaration order."""
    hints = typing.get_type_hints(cls)
    for declared in fields(cls):
        kind = hints[declared.name]
        if dataclasses.is_dataclass(kind):
            yield from declared_settings(kind)  # type: ignore[arg-type]
        elif "setting" in declared.metadata:
            yield DeclaredSetting(declared.metadata["setting"], declared.default, kind)


def settings_table(classes: tuple[type, ...]) -> str:
    """The settings of `classes` as a Markdown table (the README's tables are this text)."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for cls in classes:
        for item in declared_settings(cls):
            rows.append(f"| `{item.info.variable}` | {item.shown_default} | {item.info.doc} |")
    return "\n".join(rows)


def _cast(raw: str, kind: Any, info: SettingInfo) -> Any:
    """`raw` as `kind` (bool, int, float, str, Path, a tuple of str, or one of them or None)."""
    name = info.variable
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        kind = next(option for option in typing.get_args(kind) if option is not type(None))
    if kind is bool:
        lowered = raw.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ConfigError(f"{name} must be true or false, got {raw!r}")
    if kind in (int, float):
        try:
            value = kind(raw)
        except ValueError:
            raise ConfigError(
                f"{name} must be {'a whole number' if kind is int else 'a number'}, got {raw!r}"
            ) from None
        if info.minimum is not None and value < info.minimum:
            raise ConfigError(f"{name} must be at least {_number(info.minimum)}, got {_number(value)}")
        if info.maximum is not None and value > info.maximum:
            raise ConfigError(f"{name} must be at most {_number(info.maximum)}, got {_number(value)}")
        return value
    if typing.get_origin(kind) is tuple:
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    if kind is Path:
        return Path(raw).expanduser()
    if info.choices:
        if raw.lower() not in info.choices:
            raise ConfigError(f"{name} must be {_one_of(info.choices)}, got {raw!r}")
        return raw.lower()
    return raw


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _one_of(choices: tuple[str, ...]) -> str:
    return ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else choices[0]
