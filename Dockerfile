# syntax=docker/dockerfile:1
# Build stage: wheels for the app and its dependencies, so the runtime image carries no compiler.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
COPY mappings ./mappings
COPY reports ./reports
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime stage.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    SCOPEWATCH_DATABASE_URL=sqlite:////data/scopewatch.db \
    SCOPEWATCH_MAPPINGS=/app/mappings/sandbox.toml \
    MPLCONFIGDIR=/tmp/matplotlib
RUN useradd --create-home --uid 10001 scopewatch \
    && mkdir -p /data /app && chown scopewatch:scopewatch /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
WORKDIR /app
COPY gunicorn.conf.py docker/entrypoint.sh ./
COPY mappings ./mappings
USER scopewatch
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)" || exit 1
ENTRYPOINT ["/app/entrypoint.sh"]
CMD ["web"]
