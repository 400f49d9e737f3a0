"""The REST API on django-ninja: one error message naming the field, the generated OpenAPI, /api/docs, the wire schema.

The messages below are those of the field-spec validator ninja replaced (the spec: clients and the calibration
page show them as they are).
"""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from .conftest import TOKEN

AUTH = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
FINGERS = "['thumb', 'index', 'middle', 'ring', 'pinky']"
TOUCH_KEYS = (
    "['fingers', 'height_smoothing', 'hover_enter_mm', 'hover_exit_mm', 'lost_frames', 'rule', "
    "'touch_debounce_frames', 'touch_enter_mm', 'touch_exit_mm']"
)
BAD_BODIES = [
    ("put", "/api/config", [1, 2], "body must be a JSON object"),
    ("put", "/api/config", None, "body must be a JSON object"),
    (
        "put",
        "/api/config",
        {"colour": 1, "alpha": 2},
        "body: unknown field(s) ['alpha', 'colour']; expected ['pinch', 'touch']",
    ),
    ("put", "/api/config", {"touch": 3}, "body.touch must be a JSON object"),
    ("put", "/api/config", {"touch": {"zzz": 1}}, f"body.touch: unknown field(s) ['zzz']; expected {TOUCH_KEYS}"),
    ("put", "/api/config", {"touch": {"touch_enter_mm": "x"}}, "body.touch.touch_enter_mm must be a number, got 'x'"),
    ("put", "/api/config", {"touch": {"touch_enter_mm": True}}, "body.touch.touch_enter_mm must be a number, got True"),
    ("put", "/api/config", {"touch": {"touch_enter_mm": None}}, "body.touch.touch_enter_mm must be a number, got None"),
    ("put", "/api/config", {"touch": {"touch_enter_mm": -1}}, "body.touch.touch_enter_mm must be ≥ 0, got -1"),
    (
        "put",
        "/api/config",
        {"touch": {"touch_enter_mm": 1000.5}},
        "body.touch.touch_enter_mm must be ≤ 1000, got 1000.5",
    ),
    (
        "put",
        "/api/config",
        {"touch": {"height_smoothing": 0.001}},
        "body.touch.height_smoothing must be ≥ 0.01, got 0.001",
    ),
    (
        "put",
        "/api/config",
        {"touch": {"touch_debounce_frames": 2.0}},
        "body.touch.touch_debounce_frames must be an integer, got 2.0",
    ),
    (
        "put",
        "/api/config",
        {"touch": {"touch_debounce_frames": "2"}},
        "body.touch.touch_debounce_frames must be an integer, got '2'",
    ),
    (
        "put",
        "/api/config",
        {"touch": {"fingers": []}},
        f"body.touch.fingers must be a non-empty list of finger names from {FINGERS}",
    ),
    (
        "put",
        "/api/config",
        {"touch": {"fingers": "index"}},
        f"body.touch.fingers must be a non-empty list of finger names from {FINGERS}",
    ),
    ("put", "/api/config", {"pinch": {"lost_frames": 301}}, "body.pinch.lost_frames must be ≤ 300, got 301"),
    ("post", "/api/calibration/plane", {"frames": 0}, "body.frames must be ≥ 1, got 0"),
    (
        "post",
        "/api/calibration/plane",
        {"frames": "x" * 200},
        "body.frames must be an integer, got '" + "x" * 76 + "...",
    ),
    ("post", "/api/calibration/session", {}, "body.width is required"),
    ("post", "/api/calibration/session", {"width": 640}, "body.height is required"),
    ("post", "/api/calibration/session", {"width": 640, "height": 480, "rows": 9}, "body.rows must be ≤ 8, got 9"),
    ("post", "/api/calibration/points", {"index": 0}, "body.xyz_mm is required"),
    ("post", "/api/calibration/points", {"index": 0, "xyz_mm": [1, 2]}, "body.xyz_mm must be a list of 3 numbers (mm)"),
    (
        "post",
        "/api/calibration/points",
        {"index": 0, "xyz_mm": [1, "x", 3]},
        "body.xyz_mm[1] must be a number, got 'x'",
    ),
    (
        "post",
        "/api/calibration/points",
        {"index": 0, "xyz_mm": [1, 2, -20000]},
        "body.xyz_mm[2] must be ≥ -10000, got -20000",
    ),
    ("post", "/api/calibration/points", {"index": 0, "xyz_mm": [1, 2, float("nan")]}, "body.xyz_mm[2] must be finite"),
    ("post", "/api/calibration/points", {"index": 64, "xyz_mm": [1, 2, 3]}, "body.index must be ≤ 63, got 64"),
    ("post", "/api/recording", {}, "body.action is required"),
    ("post", "/api/recording", {"action": "go"}, "body.action must be one of ['start', 'stop'], got 'go'"),
    ("post", "/api/recording", {"action": "start", "path": 5}, "body.path must be a string of at most 500 characters"),
    (
        "post",
        "/api/recording",
        {"action": "start", "path": None},
        "body.path must be a string of at most 500 characters",
    ),
]


@pytest.fixture
def client(serve_runtime):
    from django.test import Client

    return Client(HTTP_HOST="localhost", raise_request_exception=False)


@pytest.mark.parametrize(("method", "url", "body", "message"), BAD_BODIES)
def test_a_bad_body_answers_400_with_the_message_of_its_first_problem(client, method, url, body, message) -> None:
    r = getattr(client, method)(url, json.dumps(body), "application/json", **AUTH)
    assert (r.status_code, r["Content-Type"]) == (400, "application/json"), r.content[:300]
    assert r.json() == {"error": message}


def test_empty_and_large_bodies_and_other_methods(client, serve_runtime) -> None:
    assert client.post("/api/calibration/session", "", "application/json", **AUTH).json() == {
        "error": "body.width is required"
    }
    assert client.post("/api/calibration/plane", "", "application/json", **AUTH).status_code == 202
    commands = serve_runtime.state.pop_commands()
    assert commands[-1]["cmd"] == "fit_plane" and commands[-1]["frames"] == 15  # the schema's default
    big = json.dumps({"touch": {"fingers": ["index"] * 10_000}})  # under the guard's 1 MiB, over 64 KiB
    r = client.put("/api/config", big, "application/json", **AUTH)
    assert r.status_code == 413 and r.json() == {"error": "request body too large (max 64 KiB)"}
    r = client.patch("/api/config", "{}", "application/json", **AUTH)
    assert r.status_code == 405 and r.json() == {"error": "method PATCH not allowed (expected GET, PUT)"}


def test_openapi_is_generated_from_the_schemas_and_stays_public(client) -> None:
    spec = client.get("/api/openapi.json").json()  # no token: the description of the API is public
    assert spec["openapi"].startswith("3.") and spec["info"]["title"] == "depthhand live server"
    schemas = spec["components"]["schemas"]
    assert schemas["PlaneBody"]["properties"]["frames"] == {
        "default": 15,
        "description": "background frames to fit",
        "maximum": 300,
        "minimum": 1,
        "title": "Frames",
        "type": "integer",
    }
    assert schemas["SessionBody"]["required"] == ["width", "height"]
    assert schemas["TouchBody"]["additionalProperties"] is False and "required" not in schemas["TouchBody"]
    assert schemas["TouchBody"]["properties"]["fingers"]["items"]["enum"] == json.loads(FINGERS.replace("'", '"'))
    assert "default" not in schemas["TouchBody"]["properties"]["touch_enter_mm"]  # absent, never null
    reads = [{"BearerToken": []}, {"QueryToken": []}]
    writes = [{"BearerToken": []}]
    for path, method, security in [
        ("/api/status", "get", reads),
        ("/api/config", "get", reads),
        ("/api/config", "put", writes),
        ("/api/calibration/session", "delete", writes),
        ("/api/recording", "post", writes),
        ("/api/schema/ws.json", "get", reads),
    ]:
        assert spec["paths"][path][method]["security"] == security, (path, method)
    put = spec["paths"]["/api/config"]["put"]
    assert put["requestBody"]["content"]["application/json"]["schema"]["allOf"] == [
        {"$ref": "#/components/schemas/ConfigBody"}
    ]
    assert {"202", "400", "401", "413"} <= set(put["responses"])
    assert spec["components"]["securitySchemes"]["QueryToken"] == {"type": "apiKey", "in": "query", "name": "token"}
    assert "/api/docs" not in spec["paths"]


def test_docs_page_needs_the_read_token_and_loads_nothing_from_elsewhere(client, serve_runtime, monkeypatch) -> None:
    from django.contrib.staticfiles import finders

    r = client.get("/api/docs")
    assert r.status_code == 401 and "missing or wrong token" in r.json()["error"]
    assert client.get("/api/docs", HTTP_AUTHORIZATION="Bearer wrong-token-0123456789").status_code == 401
    page = client.get(f"/api/docs?token={TOKEN}")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sorted(assets) == [
        "/static/depthhand/api-docs.js",
        "/static/ninja/swagger-ui-bundle.js",
        "/static/ninja/swagger-ui.css",
        "data:,",
    ]
    for asset in assets:
        if asset.startswith("/static/"):
            assert finders.find(asset.removeprefix("/static/")), asset  # shipped (ninja's or ours), no CDN
    assert '"url": "/api/openapi.json"' in html
    assert client.get("/api/docs", **AUTH).status_code == 200
    monkeypatch.setattr(serve_runtime, "options", dataclasses.replace(serve_runtime.options, public_read=True))
    assert client.get("/api/docs").status_code == 200


def test_ws_schema_follows_the_read_rule(client, serve_runtime, monkeypatch) -> None:
    from depthhand.serve.wire import ws_json_schema

    assert client.get("/api/schema/ws.json").status_code == 401
    r = client.get(f"/api/schema/ws.json?token={TOKEN}")
    assert r.status_code == 200 and r.json() == ws_json_schema()
    schema = r.json()
    assert schema["$schema"].endswith("2020-12/schema") and len(schema["oneOf"]) == 8
    assert {"Hello", "Frame", "Event", "Hand", "ClientAck", "ClientPing"} <= set(schema["$defs"])
    monkeypatch.setattr(serve_runtime, "options", dataclasses.replace(serve_runtime.options, public_read=True))
    assert client.get("/api/schema/ws.json").status_code == 200
