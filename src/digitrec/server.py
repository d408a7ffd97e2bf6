"""The HTTP face of digitrec: a JSON API under /v1 and a page to write digits on, at /.

    digitrec serve [--host 127.0.0.1] [--port 8000] [--model RUN]

The model is loaded once, into the same :class:`digitrec.recognizer.Recognizer` the command line
uses, kept on ``app.state.recognizer``; the routes are this module's functions, registered on
the app by :func:`create_app`. Every bad request gets a JSON error with a 4xx status,
``{"detail": "..."}``:

- 413: the body is larger than ``max_upload_bytes``, an image would decode to more than
  :data:`digitrec.imaging.MAX_PIXELS` pixels, or a batch holds too many images;
- 415: a content type that is not an image, multipart form or JSON;
- 422: an image that cannot be decoded, a missing field, or a JSON array that is not 28x28
  values in 0..255.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
from importlib import resources
from typing import Annotated, Union

import numpy as np
import pydantic
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi_offline import FastAPIOffline
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from PIL import Image

from digitrec import __version__, api_models, imaging
from digitrec.answers import Answer, NumberAnswer
from digitrec.api_models import ERRORS
from digitrec.model_format import to_model_input
from digitrec.recognizer import MAX_DIGITS, Recognizer

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_BATCH = 64
IMAGE_TYPES = ("image/png", "image/jpeg", "image/bmp", "image/gif", "image/tiff", "image/webp",
               "image/avif", "image/heic", "image/heif")
PAGE = resources.files("digitrec") / "web"

router = APIRouter()


class RequestError(Exception):
    """A bad request: answered with ``status`` and ``{"detail": message}``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def create_app(model: str | os.PathLike | None = None, max_upload_bytes: int = MAX_UPLOAD_BYTES,
               max_batch: int = MAX_BATCH, reader: str | os.PathLike | None = None) -> FastAPI:
    """Builds the application around one loaded model.

    Args:
        model: a run folder or ``.onnx`` file (``None``: the shipped model).
        reader: what /v1/read reads numbers with (see :class:`Recognizer`'s ``reader``).
        max_upload_bytes: the largest request body accepted, in bytes (default 10 MiB).
        max_batch: the most images one ``/v1/predict/batch`` request may hold.

    Raises:
        ValueError: the model cannot be loaded.
    """
    recognizer = Recognizer.load(model, reader=reader)
    # Swagger UI and ReDoc from the files fastapi-offline installs: /docs works offline.
    app = FastAPIOffline(title="digitrec", version=__version__,
                         description="Recognise handwritten digits and numbers in images.")
    app.state.recognizer = recognizer
    app.state.max_upload_bytes = max_upload_bytes
    app.state.max_batch = max_batch
    app.add_exception_handler(RequestError, _request_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(PAGE)), name="static")
    return app


async def _request_error(request: Request, error: RequestError) -> JSONResponse:
    return JSONResponse({"detail": error.message}, status_code=error.status)


async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    return JSONResponse({"detail": "invalid request: " + _validation_errors(error.errors())},
                        status_code=422)


def _validation_errors(errors: list[dict], most: int = 3) -> str:
    """Pydantic's validation errors as one line: where and what, for the first ``most``."""
    described = [f"{'.'.join(map(str, item['loc'])) or 'body'}: {item['msg']}"
                 for item in errors[:most]]
    more = f" (and {len(errors) - most} more)" if len(errors) > most else ""
    return "; ".join(described) + more


@router.get("/health", response_model=None,
            responses={200: {"model": api_models.HealthResponse}})
def health(request: Request) -> dict:
    """Whether the server is up, and which model it serves."""
    recognizer = request.app.state.recognizer
    return {"status": "ok", "model": recognizer.metrics_.get("model", "unknown"),
            "version": __version__}


@router.get("/v1/model", response_model=None,
            responses={200: {"model": api_models.ModelResponse}})
def model_info(request: Request) -> dict:
    """The model served: its name, metrics, rejection threshold and digitrec's version."""
    recognizer = request.app.state.recognizer
    return {"model": recognizer.metrics_.get("model", "unknown"), "version": __version__,
            "confidence_threshold": recognizer.threshold_, "metrics": recognizer.metrics_}


@router.post("/v1/predict", response_model=None, responses={
    200: {"model": Union[api_models.DigitResponse, api_models.NoDigitResponse]}, **ERRORS},
    openapi_extra=api_models.request_body("file", api_models.PixelsRequest, IMAGE_TYPES))
async def predict(request: Request, explain: bool = False) -> dict:
    """The digit in one image: a multipart ``file``, a raw image body, or JSON
    ``{"pixels": 28x28 array, 0..255, white ink on black}``. Returns ``digit``,
    ``confidence``, ``runner_up``, ``probabilities``, ``status`` ("ok", "unsure",
    "no_digit") and ``reason``; with ``?explain=true`` also ``model_input``, the 28x28 image
    the model saw as a base64 PNG."""
    (name, source), = await _images(request, "file", many=False)
    return _answer(request.app.state.recognizer, name, source, explain)


@router.post("/v1/predict/batch", response_model=None, responses={
    200: {"model": api_models.BatchResponse}, **ERRORS},
    openapi_extra=api_models.request_body("files", api_models.ImagesRequest, IMAGE_TYPES,
                                          many=True, raw=False))
async def predict_batch(request: Request, explain: bool = False) -> dict:
    """The digit in each of several images: multipart ``files`` or JSON ``{"images": [...]}``.
    Returns ``{"results": [...]}`` in order; an image that cannot be decoded gets
    ``{"name", "status": "error", "error"}`` in its place, the others are still answered."""
    images = await _images(request, "files", many=True)
    max_batch = request.app.state.max_batch
    if len(images) > max_batch:
        raise RequestError(413, f"{len(images)} images; a batch may hold {max_batch}")
    results = []
    for name, source in images:
        try:
            results.append({"name": name, **_answer(request.app.state.recognizer, name, source,
                                                    explain)})
        except RequestError as error:
            results.append({"name": name, "status": "error", "error": error.message})
    return {"results": results}


@router.post("/v1/read", response_model=None,
             responses={200: {"model": api_models.ReadResponse}, **ERRORS},
             openapi_extra=api_models.request_body("file", None, IMAGE_TYPES))
async def read(request: Request, digits: Annotated[int | None, Query(
        ge=1, le=MAX_DIGITS, description="the number of digits, when it is known: the reading "
                                         "then has exactly that many, or none")] = None) -> dict:
    """The number written in an image (multipart ``file`` or raw image body): ``text``,
    ``status`` and ``digits`` with each digit's ``box`` [x, y, w, h] in the image's pixels;
    ``?digits=N`` holds the reading to N digits (:meth:`Recognizer.read`)."""
    (name, source), = await _images(request, "file", many=False)
    if isinstance(source, np.ndarray):
        raise RequestError(422, "/v1/read needs an image of a number, not a 28x28 array")
    image = _decode(source, name)
    try:
        reading: NumberAnswer = request.app.state.recognizer.read(image, digits)
    except (imaging.ImageError, ValueError) as error:  # ValueError: digits for segmentation
        raise RequestError(422, str(error)) from None
    return reading


@router.get("/", include_in_schema=False)
def index():
    return FileResponse(str(PAGE / "index.html"))


def _answer(recognizer: Recognizer, name: str, source, explain: bool) -> Answer:
    """One image's answer, its ``model_input`` as a base64 PNG; a RequestError for an image that
    cannot be read."""
    image = source if isinstance(source, np.ndarray) else _decode(source, name)
    answer = recognizer.recognize(image, explain=explain)[0]
    if answer["status"] == "error":
        raise RequestError(422, answer["error"])
    if "model_input" in answer:
        answer["model_input"] = _png_base64(answer["model_input"])
    return answer


async def _images(request: Request, field: str, many: bool) -> list[tuple[str, object]]:
    """(name, encoded image or array) for each image in the request, which may be a multipart
    form (``field``), a raw image body, or JSON ``{"pixels": 28x28}`` / ``{"images": [...]}``."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        return await _uploads(request, _named_files(await _body(request), field), field)
    if content_type in IMAGE_TYPES:
        return [("body", await _body(request))]
    if content_type == "application/json":
        body = await _body(request)
        try:
            json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise RequestError(422, "the body is not valid JSON") from None
        model = api_models.ImagesRequest if many else api_models.PixelsRequest
        try:
            document = model.model_validate_json(body)
        except pydantic.ValidationError as error:
            example = "a list of 28x28 arrays" if many else "a 28x28 array"
            raise RequestError(422, f"the JSON body needs {example} of numbers in 0..255: "
                                    + _validation_errors(error.errors())) from None
        arrays = document.images if many else [document.pixels]
        key = "images" if many else "pixels"
        return [(f"{key}[{index}]", to_model_input(np.asarray([array], dtype=np.float32)))
                for index, array in enumerate(arrays)]
    raise RequestError(415, f"unsupported content type {content_type or '(none)'!r}; send "
                            "an image (image/png, image/jpeg, ...), a multipart form with "
                            f"a file field {field!r}, or JSON")


async def _body(request: Request) -> bytes:
    """The request body, read once; refused with 413 as soon as it exceeds the limit."""
    limit = request.app.state.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"the request is {int(declared):,} bytes; the limit is "
                                f"{limit:,}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"the request is larger than the {limit:,} byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


async def _uploads(request: Request, body: bytes, field: str) -> list[tuple[str, bytes]]:
    """(file name, bytes) of each file in the multipart ``body`` (already read, within the size
    limit) under ``field``. Starlette's form parser reads it from a request made over the body."""
    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, receive).form(
            max_files=request.app.state.max_batch + 1)
    except Exception as error:  # noqa: BLE001 - malformed multipart bodies
        raise RequestError(422, f"malformed multipart form: {error}") from None
    try:
        uploads = [value for key, value in form.multi_items()
                   if key == field and hasattr(value, "read")]
        if not uploads:
            raise RequestError(422, f"the form has no file field {field!r}")
        return [(upload.filename or field, await upload.read()) for upload in uploads]
    finally:
        await form.close()


def _named_files(body: bytes, field: str) -> bytes:
    """A multipart body whose parts under ``field`` without a file name (RFC 7578 makes it
    optional) are given one, so that Starlette's form parser hands them over as files instead
    of decoding their bytes as text."""
    header = re.compile(rb'(content-disposition:[ \t]*form-data;[ \t]*name="'
                        + re.escape(field.encode()) + rb'")(?=\r\n)', re.IGNORECASE)
    return header.sub(rb'\1; filename="' + field.encode() + rb'"', body)


def _decode(data: bytes, name: str) -> Image.Image:
    """Decodes an uploaded image: 413 when it has too many pixels, 422 when it cannot be read."""
    try:
        return imaging.decode_image(data, name)
    except imaging.ImageTooLargeError as error:
        raise RequestError(413, str(error)) from None
    except imaging.ImageError as error:
        raise RequestError(422, str(error)) from None


def _png_base64(digit: np.ndarray) -> str:
    """A (28, 28) float image in [0, 1] as a base64 8-bit grey PNG."""
    buffer = io.BytesIO()
    Image.fromarray(np.round(digit * 255).astype(np.uint8)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def serve(host: str = "127.0.0.1", port: int = 8000, model=None, reader=None) -> None:
    """Runs the server with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(create_app(model, reader=reader), host=host, port=port, log_level="info")
