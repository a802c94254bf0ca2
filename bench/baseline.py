"""The baseline: a bare FastAPI app on the same uvicorn set-up as ``hub serve``, answering one path with
fixed bytes. ``python -m bench.baseline --path /api/v1/regions --body-file F --content-type T --port P``;
``--status 302 --header 'Location: ...'`` for a redirect, ``--workers N`` for N processes like
``hub serve --workers N``.

It shows what the framework and server cost alone, so the hub's figures can be read against it.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Response

CONFIG_ENV = "BENCH_BASELINE_CONFIG"


def make_app(path: str, body: bytes, content_type: str, status: int = 200,
             headers: dict[str, str] | None = None, method: str = "GET") -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    async def fixed() -> Response:
        return Response(content=body, media_type=content_type, status_code=status, headers=headers)

    app.add_api_route(path, fixed, methods=[method])

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def app_from_env() -> FastAPI:
    """The factory uvicorn's worker processes call (``--workers`` needs an import string)."""
    config = json.loads(os.environ[CONFIG_ENV])
    return make_app(config["path"], Path(config["body_file"]).read_bytes(), config["content_type"],
                    config["status"], config["headers"], config.get("method", "GET"))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline")
    parser.add_argument("--path", required=True)
    parser.add_argument("--body-file", required=True, type=Path)
    parser.add_argument("--content-type", required=True)
    parser.add_argument("--status", type=int, default=200)
    parser.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--method", default="GET", choices=["GET", "POST"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    headers = dict((name.strip(), value.strip()) for name, _, value in (h.partition(":") for h in args.header))
    os.environ[CONFIG_ENV] = json.dumps({"path": args.path, "body_file": str(args.body_file.resolve()),
                                         "content_type": args.content_type, "status": args.status,
                                         "headers": headers, "method": args.method})
    # The same options as `hub serve` (hub/cli/ops.py), with as many processes.
    uvicorn.run("bench.baseline:app_from_env", factory=True, host=args.host, port=args.port, workers=args.workers,
                log_config=None, proxy_headers=True, server_header=False)


if __name__ == "__main__":
    main()
