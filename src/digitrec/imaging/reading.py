"""Image files -> decoded Pillow images, upright: the first stage of the pipeline.

Finding image files in folders (:func:`image_files`), decoding a file or its bytes
(:func:`open_image`, :func:`decode_image`: HEIC photos through pillow-heif, large JPEGs decoded
at a reduced scale, images over :data:`MAX_PIXELS` refused) and turning an image as its EXIF
orientation tag says (:func:`upright`). A path may also be a URI that pyarrow's filesystems
read (``s3://bucket/key``, ``gs://``, ``hdfs://``, ``file://``), for folders in a bucket.
"""

from __future__ import annotations

import functools
import io
import os
import re
import warnings
from pathlib import Path

from PIL import Image, ImageOps

from digitrec.imaging.errors import ImageError, ImageTooLargeError

MAX_PIXELS = 50_000_000  # decoded pixels; larger images are refused as possible decompression bombs
WORKING_SIZE = 512  # longest side, in pixels, that the pipeline works at
ORIENTATION_TAG = 0x0112  # EXIF's Orientation: 1 upright, 2..8 mirrored and/or turned
DRAFT_SCALE = "digitrec_draft_scale"  # image.info key: file pixels per decoded pixel
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".avif",
                  ".heic", ".heif")
# ISO base media file brands of HEIF images with HEVC inside (the iPhone camera's HEIC photos);
# https://github.com/strukturag/libheif (heif_check_filetype) lists them.
HEIC_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1",
               b"msf1")


def is_uri(path) -> bool:
    """Whether a path is a URI (``s3://bucket/key``, ``file:///tmp/a.png``), not a local path."""
    return isinstance(path, str) and re.match(r"[A-Za-z][A-Za-z0-9+.-]+://", path) is not None


def image_files(paths, recursive: bool = True
                ) -> list[tuple[Path | str, ImageError | None]]:
    """Expands files and folders into image files, in the order given, each folder's sorted by
    path.

    Args:
        paths: file or folder paths, or URIs of files or folders (:func:`is_uri`; listed with
            pyarrow, whose filesystems need the ``scale`` extra and, for a bucket, the user's
            credentials as pyarrow finds them).
        recursive: also look in folders' subfolders (False: only the images directly inside).

    Returns:
        ``(path, error)`` pairs, a Path for a local file and the URI, a str, for a remote one:
        ``error`` is ``None`` for a file to read, or an :class:`ImageError` for a path that does
        not exist, cannot be listed, or a folder that holds no image (so that a caller can
        report it and carry on with the others).
    """
    expanded = []
    for path in paths:
        if is_uri(path):
            expanded.extend(_uri_files(path, recursive))
            continue
        path = Path(path)
        if path.is_dir():
            children = path.rglob("*") if recursive else path.iterdir()
            files = sorted(child for child in children
                           if child.is_file() and child.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                where = ", nor do its subfolders" if recursive else \
                    "; its subfolders were not searched"
                expanded.append((path, ImageError(
                    f"{path}: folder holds no image files ({', '.join(IMAGE_SUFFIXES)})"
                    f"{where}")))
            expanded.extend((file, None) for file in files)
        elif not path.exists():
            expanded.append((path, ImageError(f"{path}: no such file or folder")))
        else:
            expanded.append((path, None))
    return expanded


def _filesystem(uri: str):
    """pyarrow's filesystem for a URI and the path on it (ImageError: no pyarrow, or a URI it
    cannot open)."""
    try:
        from pyarrow import fs
    except ImportError:
        raise ImageError(f"{uri}: reading URIs needs pyarrow: pip install 'digitrec[scale]'"
                         ) from None
    try:
        return fs.FileSystem.from_uri(uri)
    except (ValueError, OSError) as error:  # pyarrow's ArrowInvalid is a ValueError
        raise ImageError(f"{uri}: cannot open ({error})") from None


def _uri_files(uri: str, recursive: bool) -> list[tuple[str, ImageError | None]]:
    """:func:`image_files` for one URI: the file, or the images in the folder, sorted."""
    try:
        filesystem, path = _filesystem(uri)  # ImageError without pyarrow
        from pyarrow import fs

        found = filesystem.get_file_info(path)
        if found.type == fs.FileType.File:
            return [(uri, None)]
        if found.type == fs.FileType.NotFound:
            return [(uri, ImageError(f"{uri}: no such file or folder"))]
        listed = filesystem.get_file_info(fs.FileSelector(path, recursive=recursive))
    except ImageError as error:
        return [(uri, error)]
    except OSError as error:
        return [(uri, ImageError(f"{uri}: cannot list ({error})"))]
    scheme = uri[:uri.index("://") + 3]
    files = sorted(item.path for item in listed if item.type == fs.FileType.File
                   and Path(item.path).suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        return [(uri, ImageError(f"{uri}: folder holds no image files"))]
    # pyarrow's paths are the URI's less its scheme ("bucket/key", or "/tmp/a" for file://)
    return [(scheme + file, None) for file in files]


def open_image(path: str | os.PathLike) -> Image.Image:
    """Opens and decodes an image file, upright (EXIF orientation applied).

    Args:
        path: a PNG, JPEG, BMP, GIF, TIFF, WebP or AVIF file (the first frame of an animation),
            or a HEIC photo with the ``heif`` extra installed (pillow-heif); or its URI
            (:func:`is_uri`), read with pyarrow.

    Returns:
        The decoded Pillow image. Large JPEGs are decoded at a reduced scale (1/2 to 1/8, still at
        least :data:`WORKING_SIZE` pixels); ``image.info[DRAFT_SCALE]`` holds the factor from its
        pixels to the file's (1.0 for other files).

    Raises:
        ImageError: the file is missing, empty, not an image, truncated, 0x0, or larger than
            :data:`MAX_PIXELS` pixels. The message names the file.
    """
    if is_uri(path):
        filesystem, remote = _filesystem(path)
        try:
            with filesystem.open_input_stream(remote) as stream:
                return decode_image(stream.read(), name=path)
        except (FileNotFoundError, IsADirectoryError):
            raise ImageError(f"{path}: no such file") from None
        except OSError as error:
            raise ImageError(f"{path}: cannot read ({error})") from None
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    with open(path, "rb") as file:
        return decode_image(file.read(), name=str(path))


def decode_image(data: bytes, name: str = "image") -> Image.Image:
    """Decodes an image from its bytes (an upload, say), as :func:`open_image` does a file.

    A JPEG is decoded at a reduced scale (1/2 to 1/8, still at least :data:`WORKING_SIZE`
    pixels), so a phone's 108-megapixel photo is read as 1.7 megapixels; other formats are
    decoded whole, so they must hold at most :data:`MAX_PIXELS` pixels. Pillow's global
    ``PIL.Image.MAX_IMAGE_PIXELS`` is left as it is: Pillow refuses any image over twice it
    (179 megapixels by default) before digitrec looks at it.

    Args:
        data: the encoded image (any format :func:`open_image` reads).
        name: what to call it in error messages.

    Returns:
        The decoded Pillow image, upright; see :func:`open_image`.

    Raises:
        ImageError: empty, not an image (a PDF is named as one), truncated or 0x0.
            ImageTooLargeError (an ImageError): more than :data:`MAX_PIXELS` pixels once
            decoded, or over Pillow's limit. The message starts with ``name``.
    """
    if not data:
        raise ImageError(f"{name}: empty file")
    if data[4:8] == b"ftyp" and data[8:12] in HEIC_BRANDS and not _heif_registered():
        raise ImageError(f"{name}: a HEIC photo (an iPhone camera's format) needs pillow-heif: "
                         "pip install 'digitrec[heif]', or save the photo as JPEG")
    if data.startswith(b"%PDF-"):  # a scanner's or a phone scanning app's usual format
        raise ImageError(f"{name}: a PDF, not an image: save its page as PNG or JPEG first "
                         "(pdftoppm -png -r 300 FILE.pdf PAGE, or the scanner's image setting)")
    try:
        with warnings.catch_warnings():
            # Pillow warns above MAX_IMAGE_PIXELS; the decoded size is checked below instead.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        width, height = image.size
        if width == 0 or height == 0:
            raise ImageError(f"{name}: image is {width}x{height} pixels, it has no content")
        if image.format == "JPEG":
            image.draft("RGB", (WORKING_SIZE, WORKING_SIZE))  # decode at a reduced scale: faster
        if image.width * image.height > MAX_PIXELS:
            raise ImageTooLargeError(f"{name}: image is {width}x{height} pixels, more than the "
                                     f"{MAX_PIXELS // 1_000_000} megapixel limit; scale it down "
                                     "first")
        image.load()
        draft_scale = width / image.width
        image = upright(image)
        image.info[DRAFT_SCALE] = draft_scale
        return image
    except ImageError:
        raise
    except Image.DecompressionBombError:
        limit = 2 * (Image.MAX_IMAGE_PIXELS or 0) // 1_000_000
        raise ImageTooLargeError(f"{name}: image is larger than Pillow's limit of {limit} "
                                 "megapixels for a possible decompression bomb; scale it down "
                                 "first") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        reason = str(error) or type(error).__name__
        if "cannot identify image file" in reason:
            if _png_declares_no_pixels(data):
                raise ImageError(f"{name}: image is 0x0 pixels, it has no content") from None
            reason = "not an image file Pillow can read"
        raise ImageError(f"{name}: cannot read image ({reason})") from None


def upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation tag says, as a photo viewer shows it (phones
    store photos sideways and tag them); the image itself when it has no such tag.

    :func:`decode_image` (so :func:`open_image`) applies it to files and bytes, and
    :func:`~digitrec.imaging.digit.to_mnist`, :func:`digitrec.imaging.segmentation.segment` and
    the Recognizer to the PIL images given to them, so an image opened with ``PIL.Image.open``
    reads as its file does. The tag is dropped from the turned image, so applying it twice turns
    it once.
    """
    if image.getexif().get(ORIENTATION_TAG) not in range(2, 9):
        return image
    return ImageOps.exif_transpose(image)


@functools.cache
def _heif_registered() -> bool:
    """Registers pillow-heif's HEIC reader with Pillow (its documented way), the first time a HEIC
    photo comes; False when pillow-heif is not installed. Optional, as its wheels bundle the GPL
    x265 encoder; imported only here, as it costs 30 ms."""
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def _png_declares_no_pixels(data: bytes) -> bool:
    """Whether the bytes are a PNG whose header declares a width or height of 0 (Pillow refuses
    to open it)."""
    return (data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
            and (data[16:20] == bytes(4) or data[20:24] == bytes(4)))
