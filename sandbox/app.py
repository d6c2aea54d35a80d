"""The sandbox's HTTP app: the Ultravox and Twilio blueprints, fault injection and test admin routes."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request

from sandbox import api_common as common
from sandbox.api_twilio import twilio
from sandbox.api_ultravox import media, ultravox
from sandbox.state import Fault, SandboxState

# -- admin (tests) ----------------------------------------------------------------------------

admin = Blueprint("admin", __name__, url_prefix="/_sandbox")


@admin.post("/faults")
def add_fault() -> Any:
    spec = request.get_json(silent=True) or {}
    fault = Fault(
        status=spec.get("status", 500), count=int(spec.get("count", 1)),
        retry_after=spec.get("retry_after"), hang_seconds=float(spec.get("hang_seconds", 0)),
        path_prefix=spec.get("path_prefix", "/"), method=spec.get("method"),
        after=bool(spec.get("after", False)),
        code=int(spec["code"]) if spec.get("code") is not None else None,
        message=str(spec["message"]) if spec.get("message") is not None else None,
    )
    with common.state().lock:
        common.state().faults.append(fault)
    return jsonify(ok=True), 201


@admin.delete("/faults")
def clear_faults() -> Any:
    with common.state().lock:
        common.state().faults.clear()
    return Response(status=204)


@admin.get("/received")
def received() -> Any:
    service = request.args.get("service")
    with common.state().lock:
        items = [r for r in common.state().received if not service or r["service"] == service]
    return jsonify(items)


@admin.get("/deliveries")
def deliveries() -> Any:
    return jsonify(common.state().delivery_snapshot())


@admin.get("/health")
def health() -> Any:
    return jsonify(ok=True)


# -- app --------------------------------------------------------------------------------------


def _fault_response(fault: Fault) -> Any:
    if fault.status is None:
        return None
    if request.path.startswith("/2010-04-01/"):
        body, status = common.twilio_error(fault.status, fault.code or 20000 + fault.status,
                                           fault.message or "Injected failure")
    else:
        body, status = jsonify(detail=fault.message or "Injected failure."), fault.status
    resp = current_app.make_response((body, status))
    if fault.retry_after is not None:
        resp.headers["Retry-After"] = str(fault.retry_after)
    return resp


def create_app(state: SandboxState) -> Flask:
    """The sandbox Flask app over `state`."""
    app = Flask(__name__)
    app.config["SANDBOX_STATE"] = state
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]

    @app.before_request
    def _inject_fault() -> Any:
        fault = state.take_fault(request.method, request.path)
        if fault is None:
            return None
        if fault.after:
            g.sandbox_fault = fault  # let the request happen, then lose its answer
            return None
        if fault.hang_seconds:
            time.sleep(fault.hang_seconds)
        return _fault_response(fault)

    @app.after_request
    def _apply_after_fault(resp: Response) -> Response:
        fault = g.pop("sandbox_fault", None)
        if fault is None:
            return resp
        if fault.hang_seconds:
            time.sleep(fault.hang_seconds)
        return _fault_response(fault) or resp

    app.register_blueprint(ultravox)
    app.register_blueprint(media)
    app.register_blueprint(twilio)
    app.register_blueprint(admin)
    return app
