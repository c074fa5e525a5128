"""One error hierarchy for journeyml.

Every error carries a stable machine-readable ``code``, the HTTP status an API should answer
with, and optionally the offending ``field``. Messages follow one rule: say what was expected,
what was got, and what to do about it.

>>> err = MissingColumnError("timestamp", available=["id", "time"])
>>> err.code, err.http_status, err.field
('missing_column', 422, 'timestamp')
>>> isinstance(err, JourneyMLError)
True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class JourneyMLError(Exception):
    """Root of every error journeyml raises on purpose."""

    code: str = "journeyml_error"
    http_status: int = 500

    def __init__(self, message: str, *, field: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description, as the HTTP API returns it."""
        out: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        if self.details is not None:
            out["details"] = self.details
        return out


# --- data ------------------------------------------------------------------------------------
class DataError(JourneyMLError):
    """Input events are not usable as given."""

    code = "invalid_data"
    http_status = 422


class MissingColumnError(DataError):
    code = "missing_column"

    def __init__(self, column: str, *, available: Iterable[str], hint: str = "") -> None:
        avail = ", ".join(map(str, available)) or "(none)"
        msg = (
            f"expected a column {column!r} in the events, got columns: {avail}. "
            f"{hint or 'Map your column onto it in the mapping file (columns: ...).'}"
        )
        super().__init__(msg, field=column)


class ValidationFailedError(DataError):
    """Strict validation found rows that break a rule."""

    code = "validation_failed"


class EmptyDataError(DataError):
    code = "empty_data"


class ReaderError(DataError):
    """An events file cannot be opened or parsed in the expected format."""

    code = "unreadable_file"


# --- configuration ------------------------------------------------------------------------------
class ConfigError(JourneyMLError):
    """A configuration file or argument is wrong."""

    code = "invalid_config"
    http_status = 400


class NoLabelsError(ConfigError):
    """A task definition leaves no usable labels on the given events (``field``: the key of
    the task's definition that removed them)."""

    code = "no_labels"


# --- requests (HTTP API) ------------------------------------------------------------------------
class RequestError(JourneyMLError):
    """A prediction request is malformed."""

    code = "invalid_request"
    http_status = 422


class UnknownTaskError(RequestError):
    code = "unknown_task"


class PayloadTooLargeError(RequestError):
    code = "payload_too_large"
    http_status = 413


class UnknownCustomerError(RequestError):
    """The event store holds no events of this customer."""

    code = "unknown_customer"
    http_status = 404


class UnsupportedMediaTypeError(RequestError):
    code = "unsupported_media_type"
    http_status = 415


class ServiceBusyError(RequestError):
    """Too many requests are being computed: try again after ``retry_after`` seconds."""

    code = "busy"
    http_status = 503

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


class BodyTimeoutError(RequestError):
    """A request's body did not arrive within the body timeout after its head."""

    code = "body_timeout"
    http_status = 408


class UnauthorizedError(RequestError):
    code = "unauthorized"
    http_status = 401


# --- models -----------------------------------------------------------------------------------
class ModelError(JourneyMLError):
    code = "model_error"
    http_status = 503


class ModelNotFoundError(ModelError):
    code = "model_not_found"


class ModelIntegrityError(ModelError):
    """A model file is not the file training wrote (checksum mismatch, truncated, missing) or
    LightGBM cannot parse it; ``field`` names the file."""

    code = "model_integrity"


class FingerprintMismatchError(ModelError):
    """A model was trained on other features than this code builds."""

    code = "feature_fingerprint_mismatch"


# --- the event store --------------------------------------------------------------------------
class StoreError(JourneyMLError):
    """The event store cannot do what was asked."""

    code = "store_error"
    http_status = 500


class StoreUnavailableError(StoreError):
    """The event store cannot be reached or is too busy right now: try again shortly.

    ``retry_after`` (seconds) is what an API puts in its ``Retry-After`` header.

    >>> err = StoreUnavailableError("the store at sqlite:///x.db is locked", retry_after=2)
    >>> err.http_status, err.details
    (503, {'retry_after': 2})
    """

    code = "store_unavailable"
    http_status = 503

    def __init__(self, message: str, *, retry_after: int = 5, field: str | None = None) -> None:
        super().__init__(message, field=field, details={"retry_after": retry_after})
        self.retry_after = retry_after


class StoreNotConfiguredError(StoreError):
    """This service was started without an event store, so it cannot read or write stored
    journeys (set ``JOURNEYML_STORE_URI``, or start it with ``journeyml serve``)."""

    code = "store_not_configured"
    http_status = 501


class StoreSchemaError(StoreError):
    """The store's schema is not the one this code was written for (newer, older or unknown)."""

    code = "store_schema_mismatch"
    http_status = 503


class NotFittedError(JourneyMLError):
    code = "not_fitted"
    http_status = 500


class TrainingError(JourneyMLError):
    code = "training_failed"
    http_status = 500


class EngineUnavailableError(JourneyMLError):
    """The distributed engine (a Dask scheduler) cannot be reached or is not installed."""

    code = "engine_unavailable"
    http_status = 503
