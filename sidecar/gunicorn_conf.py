"""gunicorn settings of the sidecar (Procfile and docker-compose.yml):

    gunicorn -c sidecar/gunicorn_conf.py "sidecar.app:create_app()"

Loaded by gunicorn's master before anything listens, so a refused configuration stops the
sidecar with one line, and the phone-masking log setup is inherited by every worker.
"""

from core import startup

_settings = startup.start_process("sidecar")
startup.refuse_embedded_store("sidecar", _settings)
_host = _settings.webhook_bind
bind = [f"[{_host}]:{_settings.webhook_port}" if ":" in _host else f"{_host}:{_settings.webhook_port}"]

# Threads bounded per request (sidecar/serving.py): a stalled client is dropped after
# WEBHOOK_READ_TIMEOUT_SECONDS instead of holding a thread, and there are enough threads
# that a handful of them cannot starve /healthz meanwhile.
worker_class = "sidecar.serving.BoundedThreadWorker"
workers = _settings.webhook_workers
threads = _settings.webhook_threads
timeout = 30  # a worker silent this long (stuck) is replaced
graceful_timeout = 10
keepalive = 5
# Webhooks are small: refuse oversized request lines and headers before Flask sees them.
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190
sendfile = False

# Access log on stdout without query strings (%(U)s is the path only); the masking installed
# above catches any phone number that might still appear.
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
loglevel = "warning"
