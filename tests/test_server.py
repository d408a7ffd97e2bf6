"""The HTTP API: every endpoint, every error code, and random or malformed bodies."""

import base64
import io
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from digitrec.server import create_app

from conftest import HANDWRITING, REPOSITORY
from test_cli import png_declaring


@pytest.fixture(scope="module")
def client():
    # raise_server_exceptions=False: a bug must show up as a 500 the tests can see.
    return TestClient(create_app(max_upload_bytes=2_000_000, max_batch=8),
                      raise_server_exceptions=False)


def photo(name="aaronpan/3.jpg") -> bytes:
    return (HANDWRITING / "user_digits" / name).read_bytes()


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_health_and_model(client):
    assert client.get("/health").json()["status"] == "ok"
    model = client.get("/v1/model").json()
    assert {"model", "version", "metrics", "confidence_threshold"} <= set(model)
    assert model["metrics"]["test_accuracy"] > 0.99


def test_predict_a_multipart_photo(client):
    response = client.post("/v1/predict", files={"file": ("three.jpg", photo(), "image/jpeg")})
    assert response.status_code == 200
    answer = response.json()
    assert answer["digit"] == 3 and answer["status"] in ("ok", "unsure")
    assert len(answer["probabilities"]) == 10


def test_predict_a_raw_image_body_with_explain(client):
    body = (REPOSITORY / "examples" / "digits" / "canvas-drawing-4.png").read_bytes()
    response = client.post("/v1/predict?explain=true", content=body,
                           headers={"Content-Type": "image/png"})
    answer = response.json()
    assert response.status_code == 200 and answer["digit"] == 4
    seen = Image.open(io.BytesIO(base64.b64decode(answer["model_input"])))
    assert seen.size == (28, 28)


def test_predict_a_heic_body(client):
    # An iPhone's photo format, read with the heif extra (in the test install).
    import pillow_heif

    heic = io.BytesIO()
    pillow_heif.from_pillow(Image.open(io.BytesIO(photo())).convert("RGB")).save(heic, quality=90)
    response = client.post("/v1/predict", content=heic.getvalue(),
                           headers={"Content-Type": "image/heic"})
    assert response.status_code == 200 and response.json()["digit"] == 3


def test_predict_json_pixels(client, mnist):
    _, (x_test, y_test) = mnist
    response = client.post("/v1/predict", json={"pixels": x_test[0].tolist()})
    assert response.status_code == 200 and response.json()["digit"] == y_test[0]


def test_blank_canvas_is_no_digit(client):
    blank = png(np.full((280, 560), 255, np.uint8))
    answer = client.post("/v1/predict", content=blank, headers={"Content-Type": "image/png"})
    assert answer.status_code == 200
    assert answer.json()["status"] == "no_digit" and answer.json()["digit"] is None


def test_batch_answers_each_image_and_reports_bad_ones_inline(client):
    files = [("files", ("three.jpg", photo(), "image/jpeg")),
             ("files", ("broken.png", b"not a png", "image/png")),
             ("files", ("seven.jpg", photo("aaronpan/7.jpg"), "image/jpeg"))]
    results = client.post("/v1/predict/batch", files=files).json()["results"]
    assert [result.get("digit") for result in results] == [3, None, 7]
    assert "cannot read image" in results[1]["error"] and results[1]["status"] == "error"


def test_batch_too_large_is_413(client):
    files = [("files", (f"{index}.png", photo("7eraflops/1.png"), "image/png"))
             for index in range(9)]
    assert client.post("/v1/predict/batch", files=files).status_code == 413


def test_read_a_number(client):
    body = (HANDWRITING / "multi_digit" / "dfak0_2026.png").read_bytes()
    reading = client.post("/v1/read", files={"file": ("2026.png", body, "image/png")}).json()
    assert reading["text"] == "2026" and len(reading["digits"]) == 4
    assert all(len(digit["box"]) == 4 for digit in reading["digits"])


@pytest.mark.parametrize("request_arguments, status", [
    (dict(content=b"hello", headers={"Content-Type": "text/plain"}), 415),
    (dict(content=b"hello"), 415),  # no content type at all
    (dict(content=b"\x89PNG garbage", headers={"Content-Type": "image/png"}), 422),
    (dict(content=b"", headers={"Content-Type": "image/png"}), 422),
    (dict(content=png_declaring(10_000, 10_000), headers={"Content-Type": "image/png"}), 413),
    (dict(content=b"x" * 2_000_001, headers={"Content-Type": "image/png"}), 413),
    (dict(files={"picture": ("a.png", b"x", "image/png")}), 422),  # missing field "file"
    (dict(content=b"{not json", headers={"Content-Type": "application/json"}), 422),
    (dict(json={"pixels": [[0] * 27] * 28}), 422),
    (dict(json={"pixels": [[300] * 28] * 28}), 422),
    (dict(json={"pixels": [[True] * 28] * 28}), 422),  # a boolean is not a grey level
    (dict(json={"wrong": 1}), 422),
])
def test_bad_requests_get_a_clear_4xx(client, request_arguments, status):
    response = client.post("/v1/predict", **request_arguments)
    assert response.status_code == status
    assert isinstance(response.json()["detail"], str) and response.json()["detail"]


def test_a_streamed_body_over_the_limit_is_413_before_it_is_parsed(client):
    # No Content-Length: the limit is kept as the body arrives, for images and forms alike.
    def chunks():
        yield from [b"x" * 1_000_000] * 3
    for content_type in ("image/png", "multipart/form-data; boundary=x"):
        response = client.post("/v1/predict", content=chunks(),
                               headers={"Content-Type": content_type})
        assert response.status_code == 413, content_type
        assert "larger than the 2,000,000 byte limit" in response.json()["detail"]


def test_read_held_to_a_number_of_digits(client):
    body = (HANDWRITING / "orand_car_a" / "images" / "train_a_car_000384.jpg").read_bytes()
    reading = client.post("/v1/read?digits=4", content=body,
                          headers={"Content-Type": "image/jpeg"}).json()
    assert reading["text"] == "2510" and len(reading["digits"]) == 4
    for digits in ("0", "21", "five", "2.5"):
        response = client.post(f"/v1/read?digits={digits}", content=body,
                               headers={"Content-Type": "image/jpeg"})
        assert response.status_code == 422 and "digits" in response.json()["detail"]


def test_read_refuses_pixels_and_garbage(client):
    assert client.post("/v1/read", json={"pixels": [[0] * 28] * 28}).status_code == 422
    assert client.post("/v1/read", content=b"junk",
                       headers={"Content-Type": "image/jpeg"}).status_code == 422


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["/v1/predict", "/v1/predict/batch", "/v1/read"]),
       content_type=st.sampled_from(["image/png", "image/jpeg", "image/gif", "application/json",
                                     "multipart/form-data", "multipart/form-data; boundary=x",
                                     "text/plain", "", "image/png; charset=utf-8"]),
       body=st.one_of(st.binary(max_size=2048),
                      st.builds(lambda value: json.dumps(value).encode(),
                                st.recursive(st.none() | st.integers() | st.floats()
                                             | st.text(max_size=8),
                                             lambda children: st.lists(children, max_size=30)
                                             | st.dictionaries(st.sampled_from(
                                                 ["pixels", "images", "x"]), children),
                                             max_leaves=900))))
def test_random_and_malformed_bodies_never_get_a_5xx(client, path, content_type, body):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post(path, content=body, headers=headers)
    assert response.status_code < 500, (response.status_code, response.text[:300])


def test_server_is_still_up_after_all_that(client):
    assert client.get("/health").status_code == 200


def test_page_and_its_assets_are_served(client):
    page = client.get("/")
    assert page.status_code == 200
    for text in ('<canvas id="canvas"', 'id="clear"', 'type="file"', "<label", 'aria-live'):
        assert text in page.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/openapi.json").json()["paths"].keys() >= {"/v1/predict", "/v1/read",
                                                                  "/v1/predict/batch"}


def test_the_pages_digits_field_allows_what_the_api_allows(client):
    """The page's "How many digits" field is static HTML: its bounds are those of read's
    ``digits`` (1 to recognizer.MAX_DIGITS), which the API answers 422 beyond."""
    import re

    from digitrec.recognizer import MAX_DIGITS

    field = re.search(r'<input id="digits"[^>]*>', client.get("/").text, re.DOTALL).group(0)
    assert 'min="1"' in field and f'max="{MAX_DIGITS}"' in field, field


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_api_documentation_needs_no_other_host(client, path):
    """Swagger UI and ReDoc come from files the serve extra installs (fastapi-offline), so the
    documentation works on a machine without internet; tests/test_page.py renders /docs with
    every other host blocked."""
    import re

    page = client.get(path)
    assert page.status_code == 200
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page.text, re.IGNORECASE)
    for asset in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert asset.startswith("/") and client.get(asset).status_code == 200, asset
