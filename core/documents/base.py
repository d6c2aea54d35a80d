"""The base of the stored-document models."""

from __future__ import annotations

import types
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any, Self, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator


def _aware(value: datetime | None) -> datetime | None:
    # pymongo returns aware datetimes (tz_aware=True); a naive one written by hand is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


# A UTC instant as stored: always timezone-aware once read.
Instant = Annotated[datetime | None, AfterValidator(_aware)]


def _allows_none(annotation: Any) -> bool:
    if annotation is None or annotation is type(None) or annotation is Any:
        return True
    if get_origin(annotation) is Annotated:
        return _allows_none(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_allows_none(a) for a in get_args(annotation))
    return False


@cache
def _not_nullable(model: type[BaseModel]) -> frozenset[str]:
    names = set()
    for name, info in model.model_fields.items():
        if not _allows_none(info.annotation):
            names.update({name, info.alias or name})
    return frozenset(names)


class Stored(BaseModel):
    """A sub-document: unknown fields ignored, nulls accepted."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _null_means_default(cls, data: Any) -> Any:
        # An explicit null in an old document reads as the field's default, never as an error.
        if isinstance(data, dict):
            strict = _not_nullable(cls)
            if any(data.get(k) is None for k in strict if k in data):
                return {k: v for k, v in data.items() if not (v is None and k in strict)}
        return data


class Document(Stored):
    """A top-level document; `id` is the `_id` (our ids are strings)."""

    id: str = Field("", alias="_id")

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None) -> Self | None:
        """The model of a raw document, or None for None."""
        return None if doc is None else cls.model_validate(doc)

    def to_doc(self) -> dict[str, Any]:
        """The fields the stored document had, as a plain dict (for `--json` output)."""
        return self.model_dump(by_alias=True, exclude_unset=True)
