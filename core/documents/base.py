"""The base of the stored-document models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _aware(value: datetime | None) -> datetime | None:
    # pymongo returns aware datetimes (tz_aware=True); a naive one written by hand is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


# A UTC instant as stored: always timezone-aware once read.
Instant = Annotated[datetime | None, AfterValidator(_aware)]


class Stored(BaseModel):
    """A sub-document: unknown fields ignored, nulls accepted."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class Document(Stored):
    """A top-level document; `id` is the `_id` (our ids are strings)."""

    id: str = Field("", alias="_id")

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None) -> Self | None:
        """The model of a raw document, or None for None."""
        return None if doc is None else cls.model_validate(doc)
