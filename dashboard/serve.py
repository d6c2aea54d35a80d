"""`python -m dashboard.serve`: the dashboard process (Procfile, docker-compose.yml).

It runs the start-up checks every process runs (a refused configuration is one line on stderr
and exit status 2, before anything listens), masks phone numbers in the process's logs, closes
Streamlit's unauthenticated `/_stcore/metrics` endpoint, then starts `streamlit run
dashboard/app.py` on DASHBOARD_BIND:DASHBOARD_PORT in this same process.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from core import startup

APP = Path(__file__).resolve().parent / "app.py"


def disable_metrics_endpoint() -> None:
    """Make `/_stcore/metrics` answer 404: Streamlit serves it to anyone, with no log-in."""
    # Streamlit 1.67 has no option to turn it off; its route list is built by this function
    # when the server starts, so it is replaced before that. If a new Streamlit renames it,
    # refuse to start rather than serve the metrics again.
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from streamlit.web.server.starlette import starlette_app, starlette_routes

    if not hasattr(starlette_app, "create_metrics_routes"):
        raise SystemExit("dashboard: cannot disable /_stcore/metrics in this Streamlit version")

    async def not_found(_request: Any) -> PlainTextResponse:
        return PlainTextResponse("Not Found", status_code=404)

    def no_metrics(_runtime: Any, base_url: str | None) -> list[Route]:
        path = starlette_routes._with_base(starlette_routes.ROUTE_METRICS, base_url)
        return [Route(path, not_found, methods=["GET", "OPTIONS"])]

    starlette_app.create_metrics_routes = no_metrics


def main(argv: list[str] | None = None) -> None:
    """Check, then serve the dashboard until stopped (extra arguments go to streamlit)."""
    settings = startup.start_process("dashboard")
    disable_metrics_endpoint()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP), "--server.port", str(settings.dashboard_port),
                "--server.address", settings.dashboard_bind, *(argv or [])]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
