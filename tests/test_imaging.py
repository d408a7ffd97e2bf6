"""The image pipeline, stage by stage, on real MNIST digits and real people's handwriting."""

import io
import subprocess
import sys
from collections import defaultdict

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import HANDWRITING, REPOSITORY, ruled_paper
from digitrec import imaging
from digitrec.imaging.ink import table_mask


def upscaled(digit: np.ndarray, size: int = 280) -> np.ndarray:
    """A real 28x28 MNIST digit drawn large, as a photo or a canvas would hold it."""
    return np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC))


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, columns = np.indices(image.shape)
    return (rows * image).sum() / image.sum(), (columns * image).sum() / image.sum()


def test_output_is_mnist_format_with_centre_of_mass_in_the_middle(mnist_digit):
    digit = imaging.to_mnist(Image.fromarray(upscaled(mnist_digit)))
    assert digit.shape == (28, 28) and digit.dtype == np.float32
    assert 0.0 <= digit.min() and digit.max() == pytest.approx(1.0)
    row, column = centre_of_mass(digit)
    assert abs(row - 14) <= 0.5 and abs(column - 14) <= 0.5
    ink_rows, ink_columns = np.nonzero(digit > 0.05)
    height, width = np.ptp(ink_rows) + 1, np.ptp(ink_columns) + 1
    assert max(height, width) in (20, 21)  # fitted to the 20x20 box (anti-aliased edge)
    # Grey levels are kept: anti-aliased edges, not a binary image.
    assert ((digit > 0.1) & (digit < 0.9)).sum() > 20


def test_polarity_dark_on_light_equals_light_on_dark(mnist_digit, recognizer):
    large = upscaled(mnist_digit)
    white_on_black = imaging.to_mnist(Image.fromarray(large))
    black_on_white = imaging.to_mnist(Image.fromarray(255 - large))
    assert np.abs(white_on_black - black_on_white).mean() < 0.02
    assert recognizer.predict(black_on_white)[0] == 7


@pytest.mark.parametrize("ink", ["black", "white"])
def test_strokes_on_a_transparent_canvas(mnist_digit, recognizer, ink):
    strokes = upscaled(mnist_digit)
    rgba = np.zeros(strokes.shape + (4,), np.uint8)
    rgba[..., :3] = 0 if ink == "black" else 255  # stroke colour
    rgba[..., 3] = strokes  # only the strokes are opaque; the canvas is transparent (RGB 0 or 255)
    digit = imaging.to_mnist(Image.fromarray(rgba, "RGBA"))
    assert recognizer.predict(digit)[0] == 7
    assert np.abs(digit - imaging.to_mnist(Image.fromarray(strokes))).mean() < 0.02


def test_exif_orientation_is_applied(mnist_digit, tmp_path, recognizer):
    upright = Image.fromarray(255 - upscaled(mnist_digit)).convert("RGB")
    sideways = upright.transpose(Image.Transpose.ROTATE_90)  # stored turned anticlockwise
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90 degrees clockwise to view"
    sideways.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    upright.save(tmp_path / "upright.jpg", quality=95)
    from_phone = imaging.load_digit(tmp_path / "phone.jpg")
    assert np.abs(from_phone - imaging.load_digit(tmp_path / "upright.jpg")).mean() < 0.03
    assert recognizer.predict(from_phone)[0] == 7


def test_a_jpeg_larger_than_the_pixel_limit_is_read_at_a_reduced_scale(recognizer):
    # A phone's 81-megapixel photo of the blue-pen 7: JPEGs decode at up to 1/8 scale, so only
    # formats decoded whole (PNG and the rest) are held to MAX_PIXELS.
    photo = imaging.open_image(
        REPOSITORY / "examples" / "digits" / "blue-pen-photo-7.jpg").convert("L")
    large = photo.resize((9000, 9000), Image.Resampling.NEAREST)
    assert 9000 * 9000 > imaging.MAX_PIXELS
    encoded = io.BytesIO()
    large.save(encoded, "JPEG", quality=75)
    decoded = imaging.decode_image(encoded.getvalue(), "large.jpg")
    assert decoded.width * decoded.height <= imaging.MAX_PIXELS
    assert decoded.info[imaging.DRAFT_SCALE] == 9000 / decoded.width
    assert recognizer.recognize(decoded)[0]["digit"] == 7
    as_png = io.BytesIO()
    large.save(as_png, "PNG", compress_level=1)
    with pytest.raises(imaging.ImageTooLargeError, match="large.png: image is 9000x9000 pixels"):
        imaging.decode_image(as_png.getvalue(), "large.png")
    # digitrec leaves Pillow's global decompression-bomb limit to the application.
    assert Image.MAX_IMAGE_PIXELS == int(1024 * 1024 * 1024 // 4 // 3)


def test_a_heic_photo_is_read(tmp_path, recognizer):
    # An iPhone's format; pillow-heif (the heif extra, in the test install) also writes it.
    import pillow_heif

    photo = imaging.open_image(REPOSITORY / "examples" / "digits" / "blue-pen-photo-7.jpg")
    pillow_heif.from_pillow(photo.convert("RGB")).save(tmp_path / "IMG_0007.HEIC", quality=90)
    (tmp_path / "notes.txt").write_text("not an image")
    [(path, error)] = imaging.image_files([tmp_path])  # a folder's HEIC files are found
    assert path.name == "IMG_0007.HEIC" and error is None
    answer = recognizer.recognize(path)[0]
    assert answer["digit"] == 7 and answer["status"] == "ok"
    assert np.abs(imaging.load_digit(path) - imaging.to_mnist(photo)).mean() < 0.02
    # Without pillow-heif, the message says what to install.
    script = ("import sys; sys.modules['pillow_heif'] = None\n"
              "from digitrec import imaging\n"
              f"imaging.open_image({str(path)!r})")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 1
    assert "IMG_0007.HEIC: a HEIC photo" in result.stderr
    assert "pip install 'digitrec[heif]'" in result.stderr


def test_coloured_ink_on_coloured_paper_with_uneven_light(mnist_digit, recognizer):
    strokes = upscaled(mnist_digit, 400).astype(np.float32)[..., None] / 255
    paper, ink = np.array([200, 215, 120]), np.array([30, 90, 60])  # green ink, yellow paper
    light = np.linspace(1.0, 0.45, 400)[None, :, None]  # a shadow across the page
    pixels = (paper * (1 - strokes) + ink * strokes) * light
    digit = imaging.to_mnist(Image.fromarray(pixels.astype(np.uint8), "RGB"))
    assert recognizer.predict(digit)[0] == 7
    assert np.abs(digit - imaging.to_mnist(Image.fromarray(upscaled(mnist_digit)))).mean() < 0.05


def test_small_digit_in_the_corner_of_a_large_canvas(mnist_digit, recognizer):
    canvas = np.full((1200, 1600), 255, np.uint8)
    canvas[40:110, 1480:1550] = 255 - upscaled(mnist_digit, 70)
    digit = imaging.to_mnist(Image.fromarray(canvas))
    row, column = centre_of_mass(digit)
    assert abs(row - 14) <= 0.5 and abs(column - 14) <= 0.5
    assert recognizer.predict(digit)[0] == 7


def test_sixteen_bit_grey_image(mnist_digit, recognizer):
    sixteen_bit = upscaled(mnist_digit).astype(np.uint16) * 257
    digit = imaging.to_mnist(Image.fromarray(sixteen_bit))
    assert recognizer.predict(digit)[0] == 7


@pytest.mark.parametrize("page", ["white", "black", "transparent", "camera_noise", "shadow"])
def test_a_page_without_ink_is_no_digit(page):
    generator = np.random.default_rng(0)
    if page == "white":
        image = Image.new("L", (600, 400), 255)
    elif page == "black":
        image = Image.new("RGB", (28, 28), (0, 0, 0))
    elif page == "transparent":
        image = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    elif page == "camera_noise":
        noise = generator.normal(205, 5, (480, 640, 3))
        image = Image.fromarray(np.clip(noise, 0, 255).astype(np.uint8), "RGB")
    else:
        shadow = np.linspace(230, 110, 640)[None, :] + generator.normal(0, 3, (480, 640))
        image = Image.fromarray(np.clip(shadow, 0, 255).astype(np.uint8))
    with pytest.raises(imaging.NoDigitError, match="no digit found"):
        imaging.to_mnist(image)


def tutorial_pipeline(path) -> np.ndarray:
    """The tutorials' code for your own image: whole image resized to 28x28, inverted."""
    return (255 - np.asarray(Image.open(path).convert("L").resize((28, 28)),
                             dtype=np.float32)) / 255


def test_real_handwriting_is_read_and_beats_the_tutorial_pipeline(user_digits, recognizer):
    correct = defaultdict(lambda: np.zeros(2))
    totals = defaultdict(int)
    for row in user_digits:
        group = row["group"]
        totals[group] += 1
        correct[group][0] += recognizer.predict(tutorial_pipeline(row["path"]))[0] == row["label"]
        try:
            correct[group][1] += recognizer.predict(row["path"])[0] == row["label"]
        except imaging.NoDigitError:
            pass
    accuracy = {group: correct[group] / totals[group] for group in totals}
    # Measured with the shipped cnn: photo 92%, drawing 100%, small_28x28 93.5%; the tutorial
    # pipeline 68%, 59%, 58%. The floors leave room for a re-trained model's small differences.
    floors = {"photo": 0.88, "drawing": 0.95, "small_28x28": 0.88}
    for group, (tutorial, ours) in accuracy.items():
        assert ours >= floors[group], (group, ours)
        assert ours >= tutorial + 0.2, (group, tutorial, ours)


def test_a_wide_digit_in_thin_strokes_is_not_taken_for_a_ruled_line(recognizer):
    # desyrani's 3 (a phone photo, blue pen) spans half the photo's width in thin strokes: it was
    # taken for a ruled line, and a 3-pixel speck beside it became the digit (a grey square).
    digit = imaging.load_digit(HANDWRITING / "user_digits" / "desyrani" / "3.jpg")
    assert (digit > 0.5).mean() < 0.2
    assert recognizer.predict(digit)[0] == 3


@pytest.mark.parametrize("shape, line", [("ruled line", True), ("frame", True),
                                         ("page edge", True), ("wide zero", False)])
def test_lines_frames_and_edges_are_told_from_digits(shape, line):
    import cv2

    canvas = np.zeros((200, 300), np.uint8)
    if shape == "ruled line":
        cv2.line(canvas, (10, 150), (290, 158), 255, 2)  # a little aslant, as in a photo
    elif shape == "frame":
        cv2.rectangle(canvas, (3, 3), (296, 196), 255, 2)  # drawn round a canvas
    elif shape == "page edge":
        cv2.line(canvas, (297, 0), (299, 199), 255, 3)
    else:
        cv2.ellipse(canvas, (150, 100), (140, 95), 0, 0, 360, 255, 3)  # fills the image
    count, labels, stats, _ = imaging.ink_components(canvas / 255.0)
    assert count == 2
    outline = imaging.outline_share(labels, 1, stats[1])
    assert imaging.is_line(stats[1, :5], 200, 300, outline) == line


PAGES = {"ruled": dict(line_level=140), "squared": dict(line_level=140, squared=True),
         "box": dict(line_level=120, thickness=3, box=True),
         "table": dict(line_level=None, table=90)}


@pytest.mark.parametrize("paper", list(PAGES))
def test_paper_lines_a_forms_box_and_the_table_are_removed(mnist, recognizer, paper):
    _, (x_test, y_test) = mnist
    page = ruled_paper().on_ruled_paper
    read, difference = 0, []
    for digit, label in zip(x_test[:20], y_test[:20]):
        lined = imaging.to_mnist(page(digit[np.newaxis], **PAGES[paper]))
        plain = imaging.to_mnist(page(digit[np.newaxis], line_level=None))
        read += recognizer.predict(lined)[0] == label
        difference.append(np.abs(lined - plain).mean())
    # Before they were removed, the lines joined the digit, the box was kept with it, and the
    # table made the sheet the "ink": 2 (ruled), 5 (squared), 3 (box) and 3 (table) of these 20
    # were read, and the mean pixel difference from the blank page's was 0.14, 0.20, 0.16 and
    # 0.32.
    assert read >= 19 and np.mean(difference) < 0.04, (read, np.mean(difference))


@pytest.mark.parametrize("boxes", ["shared", "separate"])
def test_a_form_s_cell_cut_out_with_its_box_reads_as_its_digit(mnist, recognizer, boxes):
    """Each cell of a row of boxes cut out with its walls and the stubs of the next boxes'
    lines (as a form tool cuts a cell), 60x70 pixels, lines 2 pixels at grey 60: the box is
    erased, and the digit read. Before, the box was kept as part of the digit (1 and 2 of
    these 20 read)."""
    _, (x_test, y_test) = mnist
    page = ruled_paper().on_ruled_paper
    read = 0
    for start in range(7000, 7020, 5):
        row = page(x_test[start:start + 5], line_level=60, thickness=4,
                   boxes=boxes).resize((350, 150))
        for index in range(5):
            left = 25 + index * 55  # on_ruled_paper's first box, 55 pixels apart at this size
            cell = row.crop((left, 40, left + 60, 110))
            read += recognizer.predict(imaging.to_mnist(cell))[0] == y_test[start + index]
    assert read >= 19, read


def test_a_comb_s_cell_cut_out_reads_as_its_digit(mnist, recognizer):
    """Each cell of a comb (a base line, ticks a third of a cell high between the digits) cut
    out with its ticks and the line's stubs, 65x73 pixels: the line and ticks are erased and
    the digit read (22 of these 36 read before)."""
    _, (x_test, y_test) = mnist
    read = 0
    for start in range(7000, 7036, 6):
        page = np.full((104, 376), 235, np.float32)
        cv2.line(page, (20, 84), (356, 84), 90, 2)
        for index in range(7):
            cv2.line(page, (20 + 56 * index, 63), (20 + 56 * index, 84), 90, 2)
        for index, digit in enumerate(x_test[start:start + 6]):
            ink = np.asarray(Image.fromarray(digit).resize((48, 48), Image.Resampling.BICUBIC),
                             np.float32) * 0.85
            area = page[28:76, 24 + 56 * index:72 + 56 * index]
            area[...] = np.minimum(area, 235 - ink)
        row = Image.fromarray(page.astype(np.uint8))
        for index in range(6):
            cell = row.crop((16 + 56 * index, 16, 81 + 56 * index, 89))
            read += recognizer.predict(imaging.to_mnist(cell))[0] == y_test[start + index]
    assert read >= 33, read


def test_a_seven_s_bar_and_stem_and_small_bitmaps_are_no_cell_s_box(user_digits):
    """Strokes along three sides of a tight crop (a 7's bar and stem with a photo's edge), and
    bitmaps the digit fills to the edges, are not taken for a box and erased."""
    for entry in user_digits:
        image = imaging.open_image(entry["path"])
        ink = imaging.extract_ink(imaging.to_grey(image))
        if entry["path"].name in ("7.png", "2.png") or min(image.size) <= 28:
            assert imaging.erase_cell_box(ink) is ink, entry["path"]


@pytest.mark.parametrize("corners", [[(90, 50), (310, 50), (370, 370), (30, 370)],
                                     [(60, 0), (399, 0), (399, 340), (60, 340)]],
                         ids=["in perspective", "off two edges"])
def test_a_sheet_on_a_table_in_perspective_or_cut_by_the_frame(mnist, recognizer, corners):
    import cv2

    _, (x_test, y_test) = mnist
    read = 0
    for digit, label in zip(x_test[:10], y_test[:10]):
        photo = np.full((400, 400), 80, np.float32)
        cv2.fillPoly(photo, [np.array(corners, np.int32)], 230)
        photo[110:290, 110:290] -= upscaled(digit, 180) * 0.85 * (230 / 255)
        read += recognizer.predict(imaging.to_mnist(Image.fromarray(photo.astype(np.uint8))))[0] \
            == label
    assert read >= 9, read  # without the table masked out: 0 and 1 of these 10


def test_a_bold_digit_drawn_light_on_a_dark_canvas_is_not_taken_for_a_sheet(mnist, recognizer):
    import cv2

    _, (x_test, y_test) = mnist
    for digit, label in zip(x_test[:10], y_test[:10]):
        bold = cv2.dilate(upscaled(digit, 400), np.ones((31, 31), np.uint8))
        canvas = (20 + bold.astype(np.float32) * 0.85).astype(np.uint8)
        assert table_mask(canvas.astype(np.float32)) is None
        assert recognizer.predict(imaging.to_mnist(Image.fromarray(canvas)))[0] == label


@pytest.mark.parametrize("shadow", ["soft", "hard", "L-shaped"])
def test_a_shadow_across_the_page_stays_paper(mnist, recognizer, shadow):
    _, (x_test, y_test) = mnist
    page = ruled_paper().on_ruled_paper
    read = sum(recognizer.predict(imaging.to_mnist(
        page(digit[np.newaxis], line_level=None, shadow=shadow)))[0] == label
        for digit, label in zip(x_test[:20], y_test[:20]))
    # With the paper's level from block minima alone, the shadow was ink: 5 (soft), 3 (hard)
    # and 4 (L-shaped) of these 20 were read, and the blank pages below had a "digit".
    assert read >= 19, read
    blank = np.asarray(page(np.zeros((1, 28, 28), np.uint8), line_level=None, shadow=shadow),
                       np.float32) + np.random.default_rng(0).normal(0, 3, (400, 400))
    with pytest.raises(imaging.NoDigitError, match="no digit found"):
        imaging.to_mnist(Image.fromarray(np.clip(blank, 0, 255).astype(np.uint8)))


def test_a_number_on_ruled_paper_is_read(mnist, recognizer):
    _, (x_test, y_test) = mnist
    page = ruled_paper().on_ruled_paper
    read = 0
    for start in range(0, 50, 5):
        digits, labels = x_test[start:start + 5], y_test[start:start + 5]
        reading = recognizer.read(page(digits, line_level=140, degrees=3))
        read += reading["text"] == "".join(str(label) for label in labels)
    # Before the lines were erased, 2 of these 10 numbers were read exactly.
    assert read >= 9, read


def test_image_files_expands_folders_and_reports_bad_paths(tmp_path):
    (tmp_path / "b.png").write_bytes(b"")
    (tmp_path / "a.JPG").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "empty").mkdir()
    listed = imaging.image_files([tmp_path, tmp_path / "empty", tmp_path / "missing.png"])
    assert [path.name for path, error in listed if error is None] == ["a.JPG", "b.png"]
    errors = [str(error) for _, error in listed if error is not None]
    assert "holds no image" in errors[0] and "no such file" in errors[1]
    # Subfolders are searched too, unless asked not to.
    (tmp_path / "photos" / "2026").mkdir(parents=True)
    (tmp_path / "photos" / "2026" / "c.png").write_bytes(b"")
    found = imaging.image_files([tmp_path / "photos"])
    assert [(path.name, error) for path, error in found] == [("c.png", None)]
    found = imaging.image_files([tmp_path / "photos"], recursive=False)
    assert "its subfolders were not searched" in str(found[0][1])


def test_a_text_file_named_png_is_refused_by_name(tmp_path):
    # A file with an image extension but text inside is refused with its name in the message.
    path = tmp_path / "looks-like.png"
    path.write_text("hello")
    with pytest.raises(imaging.ImageError, match="looks-like.png: cannot read image"):
        imaging.open_image(path)
    buffer = io.BytesIO()
    Image.new("L", (10, 10)).save(buffer, "PNG")
    (tmp_path / "fine.png").write_bytes(buffer.getvalue())
    assert imaging.open_image(tmp_path / "fine.png").size == (10, 10)


@pytest.mark.parametrize("suffix, mode", [(".png", "L"), (".jpg", "RGB"), (".bmp", "RGB"),
                                          (".gif", "P"), (".tif", "L"), (".webp", "RGB"),
                                          (".png", "RGBA"), (".png", "1")])
def test_every_supported_file_format(mnist_digit, recognizer, tmp_path, suffix, mode):
    image = Image.fromarray(255 - upscaled(mnist_digit, 140))  # dark ink on white paper
    image = image.convert(mode) if mode != "1" else image.point(lambda v: 255 * (v > 128), "1")
    path = tmp_path / f"digit{suffix}"
    image.save(path)
    assert recognizer.predict([path])[0] == 7


def ink_box(image: Image.Image) -> tuple[int, int, int, int]:
    """The (x, y, width, height) of the digit's ink in ``image``'s pixels."""
    ink = imaging.select_digit(imaging.extract_ink(imaging.to_grey(image)))
    rows, columns = np.nonzero(ink > imaging.STROKE_LEVEL)
    scale = image.width / ink.shape[1]  # to_grey works on a reduced copy of a large image
    left, top = int(columns.min() * scale), int(rows.min() * scale)
    return (left, top, int((columns.max() + 1) * scale) - left,
            int((rows.max() + 1) * scale) - top)


def test_a_digit_cut_from_its_box_reads_as_the_whole_image(user_digits, recognizer):
    # read's second view of each digit: its box cut from the image. A tight box of a bold 1
    # looked all ink (the canvas's "17" read "11"); framed by its paper, each reads as the
    # whole image does.
    rows = [row for row in user_digits if row["group"] == "drawing"]
    images = [imaging.open_image(row["path"]) for row in rows]
    labels = np.array([row["label"] for row in rows])
    cut = [imaging.cut_box(image, ink_box(image)) for image in images]
    whole_right = recognizer.predict(images) == labels
    cut_right = recognizer.predict(cut) == labels
    assert cut_right.sum() >= whole_right.sum() - 1, [
        row["filename"] for row, right in zip(rows, cut_right) if not right]
    assert all(box.mode == image.mode for box, image in zip(cut, images) if image.mode != "P")


def test_a_palette_image_reads_as_its_colours(recognizer):
    """A cheque saved with a palette (a GIF, an 8-bit PNG) reads as the grey image it shows:
    each digit's box, cut for the digit model, keeps the palette's colours (its frame was once
    filled with a palette index on a default palette, and every digit scored 0%)."""
    cheque = imaging.open_image(HANDWRITING / "orand_car_a" / "images" /
                                "train_a_car_000160.jpg").convert("L")
    palette = cheque.convert("P", palette=Image.Palette.ADAPTIVE, colors=256)
    assert np.array_equal(np.asarray(palette.convert("L")), np.asarray(cheque))  # same pixels
    grey, coloured = recognizer.read(cheque), recognizer.read(palette)
    assert coloured["text"] == grey["text"] == "25441"
    assert [digit["confidence"] for digit in coloured["digits"]] == pytest.approx(
        [digit["confidence"] for digit in grey["digits"]], abs=1e-3)
    assert min(digit["confidence"] for digit in coloured["digits"]) > 0.5


def test_uris_without_pyarrow_are_answered_with_what_to_install(monkeypatch):
    """Without pyarrow (the scale extra), a URI is one clear error, listed or opened."""
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.fs", None)
    [(uri, error)] = imaging.image_files(["s3://bucket/scans"])
    assert uri == "s3://bucket/scans" and "pip install 'digitrec[scale]'" in str(error)
    with pytest.raises(imaging.ImageError, match=r"s3://bucket/a.png: reading URIs needs"):
        imaging.open_image("s3://bucket/a.png")
