"""Makes the example images in this folder from pen strokes written down here (our own digits).

    python examples/make_examples.py

Each digit is a list of strokes, each stroke a list of (x, y) points on a 100x100 grid, traced by
hand. They are rendered the ways people's digits reach digitrec: a drawing on a transparent canvas,
a phone photo of blue pen on shaded paper (stored sideways, with an EXIF orientation tag, as phones
do), and a small white-on-black bitmap, one digit each in ``digits/`` (for ``digitrec predict``);
and written side by side as numbers, with uneven gaps and baselines, or one digit to a box of a
form's row of boxes, in ``numbers/`` (for ``digitrec read``).
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).parent
DIGITS, NUMBERS = HERE / "digits", HERE / "numbers"
STROKES = {
    2: [[(22, 30), (30, 16), (48, 10), (66, 14), (74, 28), (70, 44), (52, 62), (30, 82), (20, 90),
         (50, 88), (82, 90)]],
    3: [[(24, 18), (44, 8), (64, 12), (72, 26), (64, 42), (46, 48)],
        [(46, 48), (68, 54), (78, 70), (70, 86), (48, 92), (24, 84)]],
    4: [[(60, 8), (44, 38), (24, 64), (80, 62)], [(64, 34), (62, 64), (60, 94)]],
    5: [[(74, 10), (34, 12), (30, 44), (50, 40), (70, 48), (76, 66), (68, 84), (48, 92),
         (26, 86)]],
    7: [[(20, 14), (80, 12), (62, 44), (48, 72), (40, 94)], [(38, 52), (70, 50)]],
}


def render(digit: int, size: int, width: float, margin: int = 0) -> Image.Image:
    """White strokes on black, the digit's 100x100 grid scaled into size - 2*margin pixels."""
    image = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(image)
    scale = (size - 2 * margin) / 100
    for stroke in STROKES[digit]:
        points = [(margin + x * scale, margin + y * scale) for x, y in stroke]
        draw.line(points, fill=255, width=max(1, round(width)), joint="curve")
        for x, y in points:
            radius = width / 2
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return image


def render_number(number: str, height: int, width: float, seed: int) -> Image.Image:
    """White strokes on black: the digits of ``number`` side by side, each ``height`` pixels
    high, with the uneven gaps and baselines of a hand."""
    rng = np.random.default_rng(seed)
    cells = []
    for digit in number:
        cell = render(int(digit), height, width)
        left, _, right, _ = cell.getbbox()
        cells.append(cell.crop((left, 0, right, height)))
    gaps = rng.integers(height // 10, height // 4, len(cells) + 1)
    gaps[0] = gaps[-1] = height // 2
    image = Image.new("L", (sum(cell.width for cell in cells) + int(gaps.sum()),
                            round(1.4 * height)), 0)
    x = int(gaps[0])
    for cell, gap in zip(cells, gaps[1:]):
        image.paste(cell, (x, round(0.2 * height) + int(rng.integers(-height // 12,
                                                                     height // 12 + 1))), cell)
        x += cell.width + int(gap)
    return image


def canvas_drawing(strokes: Image.Image, size: tuple[int, int], at: tuple[int, int]
                   ) -> Image.Image:
    """Black strokes on a transparent canvas of ``size``, placed ``at`` (small, off-centre)."""
    canvas = Image.new("RGBA", size, (0, 0, 0, 0))
    ink = Image.new("RGBA", strokes.size, (20, 20, 20, 255))
    canvas.paste(ink, at, strokes)
    return canvas


def pen_photo(strokes: Image.Image, seed: int) -> Image.Image:
    """Blue pen on cream paper, light falling off across the page, camera noise and blur."""
    ink = np.asarray(strokes.filter(ImageFilter.GaussianBlur(1.5)), dtype=np.float32) / 255
    height, width = ink.shape
    rows, columns = np.mgrid[0:height, 0:width]
    light = 1.0 - 0.45 * (columns / width) * (rows / height)  # a shadow towards one corner
    paper = np.array([236, 228, 205], dtype=np.float32)
    pen = np.array([40, 60, 150], dtype=np.float32)
    pixels = (paper * (1 - ink[..., None]) + pen * ink[..., None]) * light[..., None]
    pixels += np.random.default_rng(seed).normal(0, 4, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def form_row(number: str, cell: int, seed: int) -> Image.Image:
    """Dark pen on white paper, one digit to a box of a form's printed row of boxes (light
    blue, sharing their walls), each digit a little off its box's centre."""
    rng = np.random.default_rng(seed)
    margin = cell // 3
    width, height = len(number) * cell + 2 * margin, round(1.2 * cell) + 2 * margin
    form = Image.new("RGB", (width, height), (246, 246, 242))
    draw = ImageDraw.Draw(form)
    box_height = round(1.2 * cell)
    draw.rectangle((margin, margin, margin + len(number) * cell, margin + box_height),
                   outline=(120, 150, 215), width=2)
    for index in range(1, len(number)):
        x = margin + index * cell
        draw.line((x, margin, x, margin + box_height), fill=(120, 150, 215), width=2)
    size = round(0.85 * cell)
    for index, digit in enumerate(number):
        strokes = render(int(digit), size, size / 14)
        x = margin + index * cell + (cell - size) // 2 + int(rng.integers(-3, 4))
        y = margin + (box_height - size) // 2 + int(rng.integers(-4, 5))
        form.paste((35, 35, 70), (x, y), strokes)
    return form


def main() -> None:
    DIGITS.mkdir(exist_ok=True)
    NUMBERS.mkdir(exist_ok=True)
    for digit in (3, 4):
        canvas_drawing(render(digit, 160, 9), (400, 400), (190, 60)).save(
            DIGITS / f"canvas-drawing-{digit}.png")
    # Stored sideways (turned 90 degrees anticlockwise) with EXIF orientation 6, "turn 90 degrees
    # clockwise to view", as a phone held sideways stores its photos.
    photo = pen_photo(render(7, 600, 7, margin=120), seed=7).rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6
    photo.save(DIGITS / "blue-pen-photo-7.jpg", quality=85, exif=exif)
    pen_photo(render(2, 600, 7, margin=120), seed=2).save(DIGITS / "blue-pen-photo-2.jpg",
                                                          quality=85)
    render(5, 28, 2.5, margin=4).save(DIGITS / "small-28x28-5.png")
    pen_photo(render_number("4725", 120, 7, seed=4725), seed=4725).save(
        NUMBERS / "blue-pen-number-4725.jpg", quality=85)
    canvas_drawing(render_number("2357", 90, 6, seed=2357), (500, 300), (120, 140)).save(
        NUMBERS / "canvas-number-2357.png")
    form_row("52473", 60, seed=52473).save(NUMBERS / "form-boxes-number-52473.png")


if __name__ == "__main__":
    main()
