"""The HTTP API keeps the contract its OpenAPI schema states: Schemathesis generates requests
from the schema (valid ones and, in its negative phases, invalid ones) against the app in
process and runs all its checks on each answer (no 5xx, documented status codes and content
types, answers that validate against the response schemas, valid data accepted, invalid data
rejected). The schema published as docs/openapi.json is the one the app serves."""

import io
import json

import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from PIL import Image

from conftest import HANDWRITING, REPOSITORY
from digitrec import datasets
from digitrec.server import IMAGE_TYPES, create_app

app = create_app(max_upload_bytes=2_000_000, max_batch=8)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)

# A schema can say "binary", not "an image that decodes": the image bodies and files are real
# handwriting (a photo of a digit, a register crop, MNIST digits), encoded in each media type.
FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/bmp": "BMP", "image/gif": "GIF",
           "image/tiff": "TIFF", "image/webp": "WEBP", "image/avif": "AVIF",
           "image/heic": "HEIF", "image/heif": "HEIF"}


def _real_images() -> list[Image.Image]:
    import pillow_heif

    pillow_heif.register_heif_opener()
    (_, _), (digits, _) = datasets.load("mnist", download=False)
    register_crop = datasets.folder_numbers(HANDWRITING / "register_numbers", "holdout")[0][0]
    photo = Image.open(HANDWRITING / "user_digits" / "aaronpan" / "3.jpg").convert("RGB")
    photo.thumbnail((300, 300))  # small enough for the 2 MB limit as an uncompressed TIFF
    return ([photo, Image.open(register_crop).convert("RGB")]
            + [Image.fromarray(255 - digit).convert("RGB") for digit in digits[:3]])


def _encoded(image: Image.Image, image_format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


IMAGES = _real_images()
for media_type in IMAGE_TYPES:
    schemathesis.openapi.media_type(media_type, st.sampled_from(
        [_encoded(image, FORMATS[media_type]) for image in IMAGES]))


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_schemas_contract(case):
    case.call_and_validate()


def test_the_published_schema_is_the_apps():
    """docs/openapi.json is written by `digitrec openapi`; run it after changing the API."""
    published = json.loads((REPOSITORY / "docs" / "openapi.json").read_text())
    assert published == app.openapi(), "docs/openapi.json is stale: run `digitrec openapi`"
