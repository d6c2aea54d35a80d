"""Helpers every sandbox route module shares: the state, request recording, pagination, errors."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

from flask import Response, current_app, jsonify, request

from sandbox.state import SandboxState

_DEFAULT_PAGE = 100
_MAX_PAGE = 500


def state() -> SandboxState:
    """The state of the sandbox app serving this request."""
    return current_app.config["SANDBOX_STATE"]


def base() -> str:
    """This server's base URL as the client addressed it (no trailing slash)."""
    return request.host_url.rstrip("/")


def record(service: str, op: str, **extra: Any) -> None:
    """Remember the current request under `service` / `op` for the tests."""
    state().record({"service": service, "op": op, "method": request.method,
                    "path": request.path, "query": request.args.to_dict(flat=False), **extra})


def paginate(items: list[dict[str, Any]], path: str) -> Response:
    """Cursor pagination like Ultravox: {next, previous, results, total}, `next` absolute."""
    try:
        size = max(1, min(_MAX_PAGE, int(request.args.get("pageSize", _DEFAULT_PAGE))))
        start = int(base64.urlsafe_b64decode(request.args.get("cursor", "") + "==") or 0)
    except ValueError:
        return jsonify(detail="Invalid cursor or pageSize."), 400

    def link(offset: int) -> str:
        args = {k: v for k, v in request.args.items() if k != "cursor"}
        args["cursor"] = base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")
        return f"{base()}{path}?{urlencode(args)}"

    page = items[start:start + size]
    return jsonify(
        next=link(start + size) if start + size < len(items) else None,
        previous=link(max(0, start - size)) if start > 0 else None,
        results=page,
        total=len(items),
    )


def twilio_error(status: int, code: int, message: str) -> Any:
    """A Twilio REST error body ({code, message, status, more_info}) with its status."""
    return jsonify(code=code, message=message, status=status,
                   more_info=f"https://www.twilio.com/docs/errors/{code}"), status
