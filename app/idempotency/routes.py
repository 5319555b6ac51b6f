"""The route class of the API's operations, with the Idempotency-Key check on POST."""

from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request, Response

from app.auth.dependencies import check_access
from app.http import StrictJsonRoute, resource_response
from app.idempotency.dependencies import idempotency, remember


class ApiRoute(StrictJsonRoute):
    """StrictJsonRoute with the access check of every API route (`access`, made before the
    body is read), and on POST the Idempotency-Key check: added to POST routes only, so
    that reads pay for no dependency they never use."""

    access_check = staticmethod(check_access)

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if "POST" in (kwargs.get("methods") or ()):
            replay_check = Depends(idempotency, scope="function")
            kwargs["dependencies"] = [*(kwargs.get("dependencies") or ()), replay_check]
        super().__init__(path, endpoint, **kwargs)


def created_response(request: Request, content: dict[str, Any]) -> Response:
    """201 with the new resource and its `Location`, the answer a retry replays."""
    location = f"{request.url.path.rstrip('/')}/{content['id']}"
    response = resource_response(request, content, status_code=201, headers={"Location": location})
    return remember(request, response)
