"""Makes the example images in this folder from pen strokes written down here (our own digits).

    python examples/make_examples.py

Each digit is a list of strokes, each stroke a list of (x, y) points on a 100x100 grid, traced by
hand. They are rendered the ways people's digits reach digitrec: a drawing on a transparent canvas,
a phone photo of blue pen on shaded paper (stored sideways, with an EXIF orientation tag, as phones
do), and a small white-on-black bitmap.
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).parent
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


def canvas_drawing(digit: int) -> Image.Image:
    """Black strokes on a transparent 400x400 canvas, the digit small and off-centre."""
    strokes = render(digit, 160, 9)
    canvas = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    ink = Image.new("RGBA", (160, 160), (20, 20, 20, 255))
    canvas.paste(ink, (190, 60), strokes)
    return canvas


def pen_photo(digit: int, rotate: bool) -> Image.Image:
    """Blue pen on cream paper, light falling off across the page, camera noise and blur."""
    size = 600
    strokes = np.asarray(render(digit, size, 7, margin=120).filter(ImageFilter.GaussianBlur(1.5)),
                         dtype=np.float32) / 255
    rows, columns = np.mgrid[0:size, 0:size] / size
    light = 1.0 - 0.45 * columns * rows  # a shadow towards one corner
    paper = np.array([236, 228, 205], dtype=np.float32)
    pen = np.array([40, 60, 150], dtype=np.float32)
    pixels = (paper * (1 - strokes[..., None]) + pen * strokes[..., None]) * light[..., None]
    pixels += np.random.default_rng(digit).normal(0, 4, pixels.shape)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    return image.rotate(90, expand=True) if rotate else image


def main() -> None:
    canvas_drawing(3).save(HERE / "canvas-drawing-3.png")
    canvas_drawing(4).save(HERE / "canvas-drawing-4.png")
    # Stored sideways (turned 90 degrees anticlockwise) with EXIF orientation 6, "turn 90 degrees
    # clockwise to view", as a phone held sideways stores its photos.
    photo = pen_photo(7, rotate=True)
    exif = Image.Exif()
    exif[0x0112] = 6
    photo.save(HERE / "blue-pen-photo-7.jpg", quality=85, exif=exif)
    pen_photo(2, rotate=False).save(HERE / "blue-pen-photo-2.jpg", quality=85)
    render(5, 28, 2.5, margin=4).save(HERE / "small-28x28-5.png")


if __name__ == "__main__":
    main()
