"""Schemathesis hooks: the contract's own check on every answer of the fuzzed API."""

from typing import Any

import schemathesis


@schemathesis.check
def problem_details(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx/5xx is application/problem+json whose `status` is the HTTP status."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type") or response.headers.get("Content-Type")
    if isinstance(content_type, list):
        content_type = content_type[0]
    if not (content_type or "").startswith("application/problem+json"):
        raise AssertionError(f"{response.status_code} answered as {content_type!r}")
    body = response.json()
    if body.get("status") != response.status_code:
        raise AssertionError(f"problem status {body.get('status')} != {response.status_code}")
    return True
