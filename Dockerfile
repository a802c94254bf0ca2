# The hub's image: `hub serve` by default; docker-compose.yml runs the API and the worker from it.
#   docker build -t telecom-hub .
#   docker run --rm -p 8000:8000 -e HUB_DATABASE_URL=postgres://... -e HUB_SECRET_KEY=... telecom-hub

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# .dockerignore keeps the context to the package sources, pyproject.toml and README.md.
COPY . .
RUN pip wheel --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HUB_VAR_DIR=/var/lib/hub
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels telecom-hub \
 && groupadd --system --gid 10001 hub \
 && useradd --system --uid 10001 --gid hub --home-dir /var/lib/hub --shell /usr/sbin/nologin hub \
 && mkdir -p /var/lib/hub \
 && chown hub:hub /var/lib/hub
# The working directory holds nothing but what the hub writes (SQLite when no HUB_DATABASE_URL, var files).
WORKDIR /var/lib/hub
USER hub
EXPOSE 8000
CMD ["hub", "serve", "--host", "0.0.0.0", "--port", "8000"]
