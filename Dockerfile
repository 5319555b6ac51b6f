# syntax=docker/dockerfile:1
# A slim, non-root image: migrates the database, then serves the API on port 8000.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY pyproject.toml README.md LICENSE ./
COPY app ./app
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir .

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ENTENTE_DATABASE_URL=sqlite+aiosqlite:////data/entente.db
RUN useradd --system --uid 10001 --no-create-home --home-dir /app entente \
    && mkdir /data && chown entente /data
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY alembic.ini ./
COPY migrations ./migrations
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2)"]
# In production set ENTENTE_CURSOR_SECRET, ENTENTE_PUBLIC_URL (or ENTENTE_ALLOWED_HOSTS)
# and, behind a reverse proxy, ENTENTE_TRUSTED_PROXIES: `entente serve` believes
# X-Forwarded-For only from the proxies it names (README, "Security").
CMD ["sh", "-c", "entente migrate && exec entente serve --host 0.0.0.0 --port 8000 --workers 1"]
