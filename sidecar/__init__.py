"""The webhook sidecar: a Flask app (`sidecar.app:create_app()`) served by gunicorn."""
