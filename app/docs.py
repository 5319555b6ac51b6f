"""Swagger UI at `/docs` and ReDoc at `/redoc`, with every script, style and image served
by the application: the pages work on networks that reach no CDN, and their
Content-Security-Policy (app/middleware.py) names no other host.

The distributions come from the `fastapi-offline` package (Swagger UI 5, ReDoc 2), which
pip installs with the application. Pages and start-up script are ours: the script is a
file rather than inline, so the policy need not allow inline scripts.
"""

from functools import cache
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

# Under /docs, so that the assets get the documentation pages' security headers too.
ASSETS = "/docs/assets"
DISTRIBUTIONS = files("fastapi_offline") / "static"

SWAGGER_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - Swagger UI</title>
<link rel="icon" type="image/png" href="{assets}/favicon.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{root}/docs/start.js"></script>
</body>
</html>
"""

# `validatorUrl: null`: Swagger UI would otherwise send the document to an online
# validator and show its badge. Authorization is kept across reloads of the page only.
SWAGGER_START = """"use strict";
window.ui = SwaggerUIBundle({
  url: document.getElementById("swagger-ui").dataset.openapiUrl,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  displayRequestDuration: true,
  persistAuthorization: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""

# No web fonts: ReDoc falls back to the system's sans-serif and monospace fonts.
REDOC_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - ReDoc</title>
<link rel="icon" type="image/png" href="{assets}/favicon.png">
</head>
<body>
<redoc spec-url="{openapi_url}"></redoc>
<script src="{root}/docs/redoc.js"></script>
</body>
</html>
"""


@cache
def redoc_script() -> str:
    """ReDoc's bundle, less the one outside resource it loads whatever its options: the
    Redocly logo beside "API docs by Redocly". Without a source the image hides itself."""
    script = (DISTRIBUTIONS / "redoc.standalone.js").read_text(encoding="utf-8")
    return script.replace('"https://cdn.redoc.ly/redoc/logo-mini.svg"', '""')


def install(app: FastAPI) -> None:
    """The two pages, their scripts and the distributions' other files. The
    FastAPI app must be made with `docs_url=None, redoc_url=None`."""
    app.mount(ASSETS, StaticFiles(directory=str(DISTRIBUTIONS)), name="docs-assets")

    def page(template: str, request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return HTMLResponse(
            template.format(
                title=app.title,
                root=root,
                assets=root + ASSETS,
                openapi_url=root + (app.openapi_url or "/openapi.json"),
            )
        )

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return page(SWAGGER_PAGE, request)

    @app.get("/docs/start.js", include_in_schema=False)
    async def swagger_ui_start() -> Response:
        return Response(SWAGGER_START, media_type="text/javascript")

    @app.get("/docs/redoc.js", include_in_schema=False)
    async def redoc_start() -> Response:
        return Response(redoc_script(), media_type="text/javascript")

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        return page(REDOC_PAGE, request)
