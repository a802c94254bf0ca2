"""The baseline: a bare FastAPI app on the same uvicorn set-up as ``hub serve``, answering one path with
fixed bytes. ``python -m bench.baseline --path /api/v1/regions --body-file F --content-type T --port P``.

It shows what the framework and server cost alone, so the hub's figures can be read against it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Response


def make_app(path: str, body: bytes, content_type: str) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get(path)
    async def fixed() -> Response:
        return Response(content=body, media_type=content_type)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline")
    parser.add_argument("--path", required=True)
    parser.add_argument("--body-file", required=True, type=Path)
    parser.add_argument("--content-type", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = make_app(args.path, args.body_file.read_bytes(), args.content_type)
    # The same options as `hub serve` (hub/cli/ops.py), with one process.
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, proxy_headers=True, server_header=False)


if __name__ == "__main__":
    main()
