"""Reading the body by hand gives FastAPI's own outcomes (status, error types and locations)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field

from serving.request_body import documented_body, parse_json_body


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=5)
    size: float = Field(ge=0, allow_inf_nan=False)


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[Item] = Field(min_length=1)


def make_client() -> TestClient:
    app = FastAPI()

    @app.post("/by-fastapi")
    async def by_fastapi(order: Order) -> dict[str, int]:
        return {"items": len(order.items)}

    @app.post("/by-hand", openapi_extra=documented_body(Order)[0])
    async def by_hand(request: Request) -> dict[str, int]:
        order = await parse_json_body(request, Order)
        return {"items": len(order.items)}

    return TestClient(app)


BODIES: dict[str, tuple[bytes, str | None]] = {
    "valid": (b'{"items": [{"name": "a", "size": 1}]}', "application/json"),
    "valid, no content type": (b'{"items": [{"name": "a", "size": 1}]}', None),
    "valid, +json type": (b'{"items": [{"name": "a", "size": 1}]}', "application/vnd.x+json"),
    "valid, charset": (b'{"items": [{"name": "a", "size": 1}]}',
                       "application/json; charset=utf-8"),
    "empty": (b"", "application/json"),
    "text/plain": (b'{"items": [{"name": "a", "size": 1}]}', "text/plain"),
    "list": (b"[]", "application/json"),
    "no items": (b'{"items": []}', "application/json"),
    "null item": (b'{"items": [null]}', "application/json"),
    "extra key": (b'{"items": [{"name": "a", "size": 1}], "x": 1}', "application/json"),
    "too long": (b'{"items": [{"name": "abcdefg", "size": 1}]}', "application/json"),
    "below range": (b'{"items": [{"name": "a", "size": -1}]}', "application/json"),
    "wrong type": (b'{"items": [{"name": 3, "size": "big"}]}', "application/json"),
}


# Pydantic's JSON mode names these differently from FastAPI's Python-mode validation.
SAME_ERROR = {"model_attributes_type": "model_type"}


def errors(response: Any) -> list[tuple[str, tuple[Any, ...]]]:
    if response.status_code == 200:
        return []
    return [(SAME_ERROR.get(item["type"], item["type"]), tuple(item["loc"]))
            for item in response.json()["detail"]]


@pytest.mark.parametrize("body, content_type", BODIES.values(), ids=BODIES.keys())
def test_same_outcome_as_a_fastapi_body_parameter(body: bytes, content_type: str | None) -> None:
    client = make_client()
    headers = {} if content_type is None else {"Content-Type": content_type}
    expected = client.post("/by-fastapi", content=body, headers=headers)
    got = client.post("/by-hand", content=body, headers=headers)

    assert got.status_code == expected.status_code
    assert errors(got) == errors(expected)


def test_invalid_json_is_a_422_under_body() -> None:
    response = make_client().post("/by-hand", content=b'{"items": [', headers={
        "Content-Type": "application/json"})

    assert response.status_code == 422
    [item] = response.json()["detail"]
    assert item["type"] == "json_invalid" and item["loc"][0] == "body"


def test_the_body_is_documented_with_its_nested_models() -> None:
    extra, components = documented_body(Order)

    schema = extra["requestBody"]["content"]["application/json"]["schema"]
    assert extra["requestBody"]["required"] is True
    assert schema == {"$ref": "#/components/schemas/Order"}
    assert set(components) == {"Order", "Item"}
    assert components["Order"]["properties"]["items"]["items"] == {
        "$ref": "#/components/schemas/Item"}
