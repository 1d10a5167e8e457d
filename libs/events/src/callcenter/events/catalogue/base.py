from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
E = TypeVar("E", bound="type[Event]")


class UnknownEventType(LookupError):
    """The catalogue has no model for this type (a newer producer, usually)."""


class Event(BaseModel):
    """Base of every event payload. Subclasses are named in the past tense."""

    # Additive fields from a newer producer are ignored, not rejected.
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1


class EventRegistry:
    def __init__(self) -> None:
        self._models: dict[str, type[Event]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, model: type[Event], name: str, version: int) -> None:
        if name in self._models and self._models[name] is not model:
            raise ValueError(f"event type {name!r} is registered twice")
        model.event_type = name
        model.schema_version = version
        self._models[name] = model

    def upcaster(self, name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register a function turning data of ``from_version`` into ``from_version + 1``."""

        def register(function: Upcaster) -> Upcaster:
            self._upcasters[(name, from_version)] = function
            return function

        return register

    def model(self, name: str) -> type[Event]:
        try:
            return self._models[name]
        except KeyError:
            raise UnknownEventType(name) from None

    def knows(self, name: str) -> bool:
        return name in self._models

    def names(self) -> list[str]:
        return sorted(self._models)

    def upcast(self, name: str, written_version: int, data: dict[str, Any]) -> dict[str, Any]:
        current = self.model(name).schema_version
        if written_version > current:
            raise ValueError(
                f"{name} data is schema version {written_version}, newer than this "
                f"reader's {current}"
            )
        for version in range(written_version, current):
            try:
                step = self._upcasters[(name, version)]
            except KeyError:
                raise ValueError(f"no upcaster for {name} from version {version}") from None
            data = step(dict(data))
        return data


registry = EventRegistry()


def event_type(name: str | None = None, *, version: int = 1) -> Callable[[E], E]:
    """Class decorator registering an event model under a stable type name."""

    def register(model: E) -> E:
        registry.register(model, name or model.__name__, version)
        return model

    return register
