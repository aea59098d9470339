# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY migrations ./migrations
COPY scheduler ./scheduler
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[postgres]"

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ONBOARDER_MODE=production \
    ONBOARDER_HOST=0.0.0.0 \
    ONBOARDER_PORT=8000 \
    ONBOARDER_LOG_FORMAT=json \
    ONBOARDER_DATA_DIR=/var/lib/onboarder
RUN useradd --system --uid 10001 --home-dir /var/lib/onboarder --create-home onboarder
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER onboarder
WORKDIR /var/lib/onboarder
EXPOSE 8000
# Production needs ONBOARDER_DATABASE_URL and ONBOARDER_ENCRYPTION_KEYS; run
# `onboarder migrate` once per release before starting new containers. The same image runs
# the auto-onboard scheduler: `onboarder scheduler` as the command (it serves no HTTP, so give
# that container --no-healthcheck).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os,urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('ONBOARDER_PORT','8000')}/healthz\", timeout=4)"]
CMD ["onboarder", "serve"]
