# Production image for docker-compose.yml (written for operators; no Docker engine on the dev
# machines, see README "Going live"). It holds only what production runs: the product (core/),
# the three processes and the pages. No sandbox, no embedded database, no tests, no dev tools:
# requirements.txt alone (requirements-dev.txt adds pytest, ruff, honcho ...).
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY core/ core/
COPY dashboard/ dashboard/
COPY pages/ pages/
COPY sidecar/ sidecar/
COPY worker/ worker/
COPY .streamlit/config.toml .streamlit/config.toml
ENV PYTHONPATH=/app PYTHONUNBUFFERED=1 HOME=/tmp
USER nobody
