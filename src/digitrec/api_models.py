"""The HTTP API's answers and request bodies as Pydantic models, for its OpenAPI schema.

The server (:mod:`digitrec.server`) sends the answers the Recognizer makes
(:mod:`digitrec.answers`, typed dicts); these models describe them, field by field, so that the
schema at ``/openapi.json`` (and ``docs/openapi.json``, written by ``digitrec openapi``) says
exactly what each endpoint takes and answers, and clients can be generated from it. Every 4xx
answer is an :class:`ErrorResponse`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field

from digitrec.model_format import IMAGE_SIZE

Probability = Annotated[float, Field(ge=0, le=1)]
Digit = Annotated[int, Field(ge=0, le=9)]
Grey = Annotated[float, Field(ge=0, le=255, strict=True)]  # strict: a boolean is no number
PixelRows = Annotated[list[Annotated[list[Grey], Field(min_length=IMAGE_SIZE,
                                                       max_length=IMAGE_SIZE)]],
                      Field(min_length=IMAGE_SIZE, max_length=IMAGE_SIZE,
                            description="28x28 grey levels in 0..255, white ink on black, "
                                        "MNIST's format")]


class ErrorResponse(BaseModel):
    """A request the server refuses (every 4xx): what was wrong and what to do, as a sentence."""

    detail: str


class DigitResponse(BaseModel):
    """The digit read in one image."""

    digit: Digit = Field(description="the most probable digit")
    confidence: Probability = Field(description="the probability of `digit`")
    runner_up: Digit = Field(description="the second most probable digit")
    probabilities: Annotated[list[Probability], Field(min_length=10, max_length=10)] = Field(
        description="the probability of each digit 0..9, rounded to 6 decimal places")
    status: Literal["ok", "unsure"] = Field(
        description="unsure: `confidence` is under the model's threshold")
    reason: str | None = Field(description="null for ok; for unsure, why")
    model_input: str = Field(None, description="only with ?explain=true: the 28x28 image the "
                                               "model saw, a base64 PNG")


class NoDigitResponse(BaseModel):
    """An image that holds no ink that could be a digit (a blank page)."""

    digit: None
    confidence: None
    status: Literal["no_digit"]
    reason: str


class NamedDigitResponse(DigitResponse):
    """A batch's answer for one image: its name (file name, or images[i])."""

    name: str


class NamedNoDigitResponse(NoDigitResponse):
    """A batch's answer for a blank image."""

    name: str


class NamedErrorResponse(BaseModel):
    """A batch's answer for an image that cannot be read; the others are still answered."""

    name: str
    status: Literal["error"]
    error: str


class BatchResponse(BaseModel):
    """The answers for a batch of images, in the request's order."""

    results: list[Union[NamedDigitResponse, NamedNoDigitResponse, NamedErrorResponse]]


class DigitInNumberResponse(BaseModel):
    """One digit of a number read."""

    digit: Digit
    confidence: Probability = Field(description="the digit model's probability of `digit`")
    box: Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=4, max_length=4)] = Field(
        description="[x, y, width, height] in the image's pixels, from its top left corner")
    status: Literal["ok", "unsure"]


class ReadResponse(BaseModel):
    """The number read in one image."""

    text: str = Field(pattern="^[0-9]*$", description="the digits read, left to right; empty "
                                                      "for no_digit")
    status: Literal["ok", "unsure", "no_digit"] = Field(
        description="ok: very likely right (of the ok readings of held-out numbers, 98% of "
                    "cheque amounts and 98.7% of register numbers were right: docs/reading.md); "
                    "unsure: the best reading, to check (see reason); no_digit: none found")
    confidence: Probability | None = Field(None, description=(
        "the number reader's probability of text, summed over every alignment that reads it; "
        "ok needs 0.8 and the digit model's checks, and a stricter level lets fewer wrong "
        "readings through (docs/reading.md); null for no_digit, or with no number reader"))
    digits: list[DigitInNumberResponse]
    reason: str | None = Field(None, description="null for ok; for unsure, what to check (the "
                                                 "unsure digits counted from the left, or the "
                                                 "whole number, and the alternative); for "
                                                 "no_digit in a blank image, why")
    alternative: str | None = Field(None, pattern="^[0-9]+$", description=(
        "only for unsure, where the two readers read different numbers: the digits of the "
        "one not answered (or the number reader's own, where text is its reading with one "
        "digit changed to the digit model's, the text as read where a $ or % sign read as "
        "digits was left out, or the image's reading upside down), to offer beside text; null "
        "otherwise"))


class ModelResponse(BaseModel):
    """The model served."""

    model: str
    version: str = Field(description="digitrec's version")
    confidence_threshold: Probability = Field(description="answers under it are unsure")
    metrics: dict[str, Any] = Field(description="the model's metrics.json")


class HealthResponse(BaseModel):
    """The server is up."""

    status: Literal["ok"]
    model: str
    version: str


class PixelsRequest(BaseModel):
    """One digit as an array (JSON body of /v1/predict)."""

    pixels: PixelRows


class ImagesRequest(BaseModel):
    """Several digits as arrays (JSON body of /v1/predict/batch)."""

    images: Annotated[list[PixelRows], Field(min_length=1)]


ERRORS = {status: {"model": ErrorResponse, "description": description}
          for status, description in (
              (413, "the body, an image's pixel count or the batch is too large"),
              (415, "the content type is not an image, a multipart form or JSON"),
              (422, "an image that cannot be decoded, a missing field, or values out of range"))}


def request_body(field: str, json_model: type[BaseModel] | None, image_types: tuple[str, ...],
                 many: bool = False, raw: bool = True) -> dict:
    """The OpenAPI ``requestBody`` of an endpoint that reads its body itself: a multipart form
    with the image file(s) in ``field`` (each of one of ``image_types``), a raw image body of
    one of them (``raw``), or JSON of ``json_model`` (None: no JSON)."""
    binary = {"type": "string", "format": "binary"}
    files = {"type": "array", "items": binary, "minItems": 1} if many else binary
    content: dict[str, Any] = {"multipart/form-data": {
        "schema": {"type": "object", "required": [field], "properties": {field: files}},
        "encoding": {field: {"contentType": ", ".join(image_types)}}}}
    if raw:
        content.update({media_type: {"schema": binary} for media_type in image_types})
    if json_model is not None:
        content["application/json"] = {"schema": json_model.model_json_schema()}
    return {"requestBody": {"required": True, "content": content}}
