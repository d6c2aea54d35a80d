"""The agent's tool endpoints (`POST /tools/<name>`): thin views over core.screening."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from core.config import get_settings
from core.screening import tool_calls
from core.screening.tools import TOOL_HEADER

tools_bp = Blueprint("tools", __name__, url_prefix="/tools")


@tools_bp.post("/<name>")
def tool(name: str) -> Response:
    """One tool request from Ultravox: checked, stored once, applied; the text the agent reads.

    The body is read as JSON whatever its content type (Ultravox does not document one).
    """
    reply = tool_calls.handle(current_app.config["DB"], name, request.get_data(cache=False),
                              request.headers.get(TOOL_HEADER), get_settings().tool_secret)
    response = Response(reply.text, status=reply.status, mimetype="text/plain")
    if reply.status == 200:
        response.headers["X-Ultravox-Agent-Reaction"] = reply.reaction
    return response
