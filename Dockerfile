# FinSMS: JSON and SOAP Node API on port 9587, with the embedded dispatcher.
# Python 3.11: Spyne 2.14 does not import on 3.12 or newer.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FINSMS_DATABASE_URL=sqlite:////data/finsms.db

WORKDIR /app
# lxml and psycopg ship wheels for this platform; no compiler is needed.
COPY pyproject.toml README.md ./
COPY service ./service
RUN pip install --no-cache-dir . \
    && useradd --system --home /data finsms \
    && mkdir -p /data && chown finsms /data

USER finsms
VOLUME ["/data"]
EXPOSE 9587
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:9587/health', timeout=2)" || exit 1
# PostgreSQL in production: FINSMS_DATABASE_URL=postgresql://…, FINSMS_EMBEDDED_WORKER=0,
# and separate `finsms worker` containers: deploy/compose.yaml puts them, PostgreSQL
# and nginx (TLS on 9588) together.
CMD ["finsms", "serve"]
