"""The web page in a real headless Chromium (Debian's, driven by Playwright): draw a digit with the
mouse, clear, upload a real photo.

Set DIGITREC_SCREENSHOT=docs/page.png to save the screenshot shown in the README.
"""

import os
import shutil
import socket
import threading
import time

import pytest
import uvicorn

from digitrec.server import create_app

from conftest import HANDWRITING

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Flags for a headless Chromium on a machine with no network and no display, run as root.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def server_url():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def page(server_url):
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"Chromium not found at {CHROMIUM}; `make test` installs Debian's "
                           "chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1000, "height": 800})
        page.goto(server_url)
        yield page
        browser.close()


def draw(page, strokes):
    """Draws strokes (lists of points in [0, 1] of the canvas) with mouse events."""
    box = page.locator("#canvas").bounding_box()
    for stroke in strokes:
        points = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point, steps=8)
        page.mouse.up()


def test_draw_a_seven_then_clear(page):
    from playwright.sync_api import expect

    # A 7 in the middle of the pad: the bar, then the stem.
    draw(page, [[(0.42, 0.2), (0.58, 0.2), (0.5, 0.5), (0.45, 0.82)]])
    expect(page.locator("#result")).to_have_text("7", timeout=10_000)
    bars = page.locator("#bars li.top")
    expect(bars).to_have_count(1)
    assert bars.first.inner_text().startswith("7")
    assert page.locator("#seen").get_attribute("src").startswith("data:image/png;base64,")
    if os.environ.get("DIGITREC_SCREENSHOT"):
        page.screenshot(path=os.environ["DIGITREC_SCREENSHOT"], full_page=True)
    page.get_by_role("button", name="Clear").click()
    expect(page.locator("#result")).to_have_text("No digit", timeout=10_000)


def test_write_a_number_across_the_canvas(page):
    from playwright.sync_api import expect

    page.get_by_label("A number (several digits)").check()
    page.get_by_role("button", name="Clear").click()
    # 1 and 7 side by side.
    draw(page, [[(0.3, 0.2), (0.3, 0.8)], [(0.5, 0.2), (0.66, 0.2), (0.58, 0.5), (0.54, 0.82)]])
    expect(page.locator("#result")).to_have_text("17", timeout=10_000)
    # The single digit's panel (ten bars, the 28x28 image) is hidden for a number.
    expect(page.locator("#digit-view")).to_be_hidden()
    page.get_by_label("One digit").check()
    page.get_by_role("button", name="Clear").click()


def test_a_number_held_to_the_digits_the_writer_gives(page):
    """Number mode shows a field for the number of digits; given, the page asks the API for
    that many (?digits=)."""
    from playwright.sync_api import expect

    expect(page.locator("#digits-field")).to_be_hidden()
    page.get_by_label("A number (several digits)").check()
    page.get_by_label("How many digits, if you know").fill("2")
    page.get_by_role("button", name="Clear").click()
    with page.expect_request(lambda request: "/v1/read?digits=2" in request.url):
        draw(page, [[(0.3, 0.2), (0.3, 0.8)],
                    [(0.5, 0.2), (0.66, 0.2), (0.58, 0.5), (0.54, 0.82)]])
    expect(page.locator("#result")).to_have_text("17", timeout=10_000)
    page.get_by_label("How many digits, if you know").fill("")
    page.get_by_label("One digit").check()
    expect(page.locator("#digits-field")).to_be_hidden()
    page.get_by_role("button", name="Clear").click()


def test_an_unsure_number_shows_what_to_check(page):
    """The page shows an "unsure" number's reason, as digitrec read prints it, and boxes the
    digits to check in red (the API's answers for two such readings are served in place of the
    server's, as POST /v1/read gives them)."""
    import json

    from playwright.sync_api import expect

    from digitrec.answers import explained

    def answer(statuses, alternative):
        reading = {"text": "17", "status": "unsure", "digits": [
            {"digit": digit, "confidence": 0.9, "box": [20 + 30 * index, 20, 25, 60],
             "status": status} for index, (digit, status) in enumerate(zip((1, 7), statuses))]}
        return explained({**reading, "alternative": alternative} if alternative else reading)

    def serve(body):
        return lambda route: route.fulfill(status=200, content_type="application/json",
                                           body=body)

    page.get_by_label("A number (several digits)").check()
    try:
        for statuses, other, note in (
                (("ok", "unsure"), None, "Unsure: check digit 2 (counted from the left)"),
                (("ok", "ok"), "170", "Unsure: check the whole number; another reading: 170")):
            page.route("**/v1/read*", serve(json.dumps(answer(statuses, other))))
            page.get_by_role("button", name="Clear").click()
            draw(page, [[(0.3, 0.2), (0.3, 0.8)],
                        [(0.5, 0.2), (0.66, 0.2), (0.58, 0.5), (0.54, 0.82)]])
            expect(page.locator("#reason")).to_have_text(note, timeout=10_000)
            expect(page.locator("#result")).to_have_text("17")
            # Each digit's box: the top edge's colour, in the overlay's pixels.
            colours = page.evaluate("""() => {
                const overlay = document.getElementById("overlay");
                const scale = document.getElementById("canvas").width / overlay.width;
                const context = overlay.getContext("2d");
                return [20, 50].map((x) => Array.from(context.getImageData(  // a dash's start
                    Math.round(x / scale) + 2, Math.round(20 / scale), 1, 1).data));
            }""")
            blue, red = [11, 92, 173, 255], [163, 0, 0, 255]
            assert colours == [blue if status == "ok" else red for status in statuses], colours
            page.unroute("**/v1/read*")
    finally:
        page.unroute("**/v1/read*")
        page.get_by_label("One digit").check()
        page.get_by_role("button", name="Clear").click()


def test_a_sure_number_shows_each_digits_confidence(page):
    """An "ok" number's line under it gives the number's confidence and each digit's, as POST
    /v1/read gives them (an answer served in place of the server's)."""
    import json

    from playwright.sync_api import expect

    reading = {"text": "17", "status": "ok", "confidence": 0.993, "digits": [
        {"digit": digit, "confidence": confidence, "box": [20 + 30 * index, 20, 25, 60],
         "status": "ok"} for index, (digit, confidence) in enumerate(((1, 0.981), (7, 0.904)))]}
    page.get_by_label("A number (several digits)").check()
    page.route("**/v1/read*", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps(reading)))
    try:
        page.get_by_role("button", name="Clear").click()
        draw(page, [[(0.3, 0.2), (0.3, 0.8)]])
        expect(page.locator("#reason")).to_have_text(
            "2 digits (the number at 99%): 1 at 98%, 7 at 90%", timeout=10_000)
        expect(page.locator("#result")).to_have_text("17")
    finally:
        page.unroute("**/v1/read*")
        page.get_by_label("One digit").check()
        page.get_by_role("button", name="Clear").click()


def test_a_phone_draws_a_number_with_a_finger(page, server_url):
    """On a phone-sized screen (390x844, touch), a number written with touch events (not the
    mouse) is read, and the canvas fits the screen without scrolling sideways."""
    from playwright.sync_api import expect

    context = page.context.browser.new_context(viewport={"width": 390, "height": 844},
                                               is_mobile=True, has_touch=True)
    try:
        phone = context.new_page()
        phone.goto(server_url)
        phone.get_by_label("A number (several digits)").check()
        box = phone.locator("#canvas").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        touch = context.new_cdp_session(phone)
        for stroke in ([(0.3, 0.2), (0.3, 0.5), (0.3, 0.8)],
                       [(0.5, 0.2), (0.66, 0.2), (0.58, 0.5), (0.54, 0.82)]):
            points = [{"x": box["x"] + x * box["width"], "y": box["y"] + y * box["height"]}
                      for x, y in stroke]
            touch.send("Input.dispatchTouchEvent", {"type": "touchStart",
                                                    "touchPoints": points[:1]})
            for point in points[1:]:
                touch.send("Input.dispatchTouchEvent", {"type": "touchMove",
                                                        "touchPoints": [point]})
            touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        expect(phone.locator("#result")).to_have_text("17", timeout=10_000)
        assert phone.evaluate("window.scrollY") == 0  # drawing did not scroll the page
    finally:
        context.close()


def test_upload_a_real_photo(page):
    from playwright.sync_api import expect

    page.locator("#photo").set_input_files(str(HANDWRITING / "user_digits" / "aaronpan" /
                                               "5.jpg"))
    expect(page.locator("#result")).to_have_text("5", timeout=15_000)
    expect(page.locator("#photo-view")).to_be_visible()
    expect(page.locator("#digit-view")).to_be_hidden()  # a photo is read as a number


def test_a_heic_photo_is_read_or_refused_with_a_message(page, tmp_path):
    """Chromium cannot show a HEIC photo (an iPhone's format); the page sends it to the server,
    which reads it with the heif extra. The photo is a real one (user_digits), saved as HEIC."""
    import pillow_heif
    from PIL import Image
    from playwright.sync_api import expect

    heic = tmp_path / "IMG_0001.HEIC"
    photo = Image.open(HANDWRITING / "user_digits" / "aaronpan" / "3.jpg").convert("RGB")
    pillow_heif.from_pillow(photo).save(heic, quality=90)
    page.locator("#photo").set_input_files(str(heic))
    expect(page.locator("#result")).to_have_text("3", timeout=15_000)
    expect(page.locator("#reason")).to_contain_text("cannot show the photo")
    expect(page.locator("#digit-view")).to_be_hidden()


def test_a_file_the_browser_cannot_decode_gets_a_visible_answer(page, tmp_path):
    from playwright.sync_api import expect

    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("a shopping list, not a photo")
    page.locator("#photo").set_input_files(str(not_an_image))
    expect(page.locator("#result")).to_have_text("Cannot read this file", timeout=15_000)
    expect(page.locator("#reason")).not_to_be_empty()
    expect(page.locator("#photo-view")).to_be_hidden()
    expect(page.locator("#digit-view")).to_be_hidden()


def _serious_violations(page) -> list[tuple[str, str]]:
    """axe-core's audit of the page as it is (WCAG 2 A and AA rules and best practices): its
    serious and critical violations, as (rule, help)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page).response
    return [(violation["id"], violation["help"]) for violation in results["violations"]
            if violation["impact"] in ("serious", "critical")]


def test_the_page_passes_an_accessibility_audit(page):
    """Labels, names, contrast, keyboard focus and landmarks, as axe-core checks them, on the
    empty page, with a digit read, and in number mode."""
    from playwright.sync_api import expect

    page.get_by_role("button", name="Clear").click()
    assert _serious_violations(page) == []
    draw(page, [[(0.42, 0.2), (0.58, 0.2), (0.5, 0.5), (0.45, 0.82)]])
    expect(page.locator("#result")).to_have_text("7", timeout=10_000)
    assert _serious_violations(page) == []
    page.get_by_label("A number (several digits)").check()
    expect(page.locator("#digit-view")).to_be_hidden(timeout=10_000)
    assert _serious_violations(page) == []
    page.get_by_label("One digit").check()
    page.get_by_role("button", name="Clear").click()


def test_the_api_documentation_renders_with_the_network_blocked(page, server_url):
    """/docs (Swagger UI) loads its script and styles from the server itself: with every other
    host blocked it still lists the API's operations."""
    from playwright.sync_api import expect

    blocked = []

    def only_the_server(route):
        if route.request.url.startswith(server_url):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_server)
    try:
        page.goto(server_url + "/docs")
        operations = page.locator(".opblock-summary-path")
        expect(operations.first).to_be_visible(timeout=15_000)
        paths = set(operations.all_inner_texts())
        assert {"/v1/predict", "/v1/predict/batch", "/v1/read", "/v1/model", "/health"} <= {
            path.strip().replace("\u200b", "") for path in paths}
        assert blocked == []
    finally:
        page.unroute("**/*")
        page.goto(server_url)

