"""HTTP data dips: the shell side of an ``http`` node (the core only sees the answer)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from urllib.parse import quote

import httpx

from callcenter.ivr.domain.engine import DipCompleted
from callcenter.ivr.domain.flow import HttpNode
from callcenter.ivr.domain.templates import render

MAX_BODY = 64 * 1024


async def perform_dip(
    client: httpx.AsyncClient, node: HttpNode, variables: Mapping[str, str]
) -> DipCompleted:
    url = render(node.url, {name: quote(value, safe="") for name, value in variables.items()})
    params = {name: variables.get(name, "") for name in node.send}
    started = time.monotonic()
    try:
        if node.method == "GET":
            response = await client.get(url, params=params, timeout=node.timeout)
        else:
            response = await client.post(url, json=params, timeout=node.timeout)
    except httpx.TimeoutException:
        return DipCompleted("timeout", elapsed=time.monotonic() - started, detail="timed out")
    except httpx.HTTPError as error:
        return DipCompleted("error", elapsed=time.monotonic() - started, detail=str(error))
    elapsed = time.monotonic() - started
    if response.status_code >= 400:
        return DipCompleted("error", elapsed=elapsed, detail=f"HTTP {response.status_code}")
    if len(response.content) > MAX_BODY:
        return DipCompleted("error", elapsed=elapsed, detail="answer too large")
    try:
        body = response.json()
    except ValueError:
        return DipCompleted("error", elapsed=elapsed, detail="answer is not JSON")
    return DipCompleted("ok", body=body, elapsed=elapsed)
