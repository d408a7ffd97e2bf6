// digitrec's page: draw, and the server's /v1 API reads what you wrote.
"use strict";

const canvas = document.getElementById("canvas");
const overlay = document.getElementById("overlay");
const context = canvas.getContext("2d");
const overlayContext = overlay.getContext("2d");
const result = document.getElementById("result");
const reason = document.getElementById("reason");
const bars = document.getElementById("bars");
const seen = document.getElementById("seen");
const digitView = document.getElementById("digit-view");
const photoView = document.getElementById("photo-view");
const photoCanvas = document.getElementById("photo-canvas");
const digitsField = document.getElementById("digits-field");
const digitsInput = document.getElementById("digits");
let drawing = false, last = null, pending = null, inFlight = false, dirty = false;
// Every request takes a number; an answer to anything but the latest one is dropped, so that a
// slow answer about an earlier drawing never overwrites a newer one.
let latest = 0;

function mode() { return document.querySelector("input[name=mode]:checked").value; }

// A number's reading, held to the digits the writer says it has (the API's ?digits=, within the
// field's min and max); an empty or other value reads any number of digits.
function readUrl() {
  const digits = Number(digitsInput.value);
  const known = mode() === "number" && Number.isInteger(digits)
    && digits >= Number(digitsInput.min) && digits <= Number(digitsInput.max);
  return known ? `/v1/read?digits=${digits}` : "/v1/read";
}

function clearCanvas() {
  context.fillStyle = "#fff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  overlayContext.clearRect(0, 0, overlay.width, overlay.height);
}

for (let digit = 0; digit < 10; digit++) {
  const item = document.createElement("li");
  item.innerHTML = `<span>${digit}</span><span class="bar"><span style="width:0%"></span></span><span class="value">0%</span>`;
  bars.appendChild(item);
}

function point(event) {
  const box = canvas.getBoundingClientRect();
  return [(event.clientX - box.left) * canvas.width / box.width,
          (event.clientY - box.top) * canvas.height / box.height];
}

function stroke(from, to) {
  context.strokeStyle = "#111";
  context.lineWidth = canvas.height / 14;  // about MNIST's stroke for a digit as tall as the pad
  context.lineCap = "round";
  context.lineJoin = "round";
  context.beginPath();
  context.moveTo(...from);
  context.lineTo(...to);
  context.stroke();
}

canvas.addEventListener("pointerdown", (event) => {
  canvas.setPointerCapture(event.pointerId);
  drawing = true;
  last = point(event);
  stroke(last, last);
  schedule();
});
canvas.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  const next = point(event);
  stroke(last, next);
  last = next;
  schedule();
});
for (const type of ["pointerup", "pointercancel", "pointerleave"]) {
  canvas.addEventListener(type, () => { if (drawing) { drawing = false; schedule(0); } });
}

// Live prediction while drawing: at most one request in flight, the latest drawing wins.
function schedule(delay = 120) {
  dirty = true;
  clearTimeout(pending);
  pending = setTimeout(send, delay);
}

async function send() {
  if (inFlight) { pending = setTimeout(send, 50); return; }
  dirty = false;
  inFlight = true;
  const request = ++latest;
  try {
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    if (mode() === "digit") {
      const answer = await post("/v1/predict?explain=true", blob);
      if (request === latest) showDigit(answer);
    } else {
      const reading = await post(readUrl(), blob);
      if (request === latest) showNumber(reading, overlayContext, canvas.width / overlay.width);
    }
  } catch (error) {
    if (request === latest) show(`Cannot reach the server (${error.message})`, "no_digit", "");
  } finally {
    inFlight = false;
  }
}

async function post(url, blob) {
  const response = await fetch(url, {method: "POST", body: blob,
                                     headers: {"Content-Type": blob.type || "image/png"}});
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.detail || response.statusText);
  return answer;
}

function show(text, status, why) {
  result.textContent = text;
  result.className = "result " + status;
  reason.textContent = why || "";
}

function showDigit(answer) {
  digitView.hidden = false;
  overlayContext.clearRect(0, 0, overlay.width, overlay.height);
  const probabilities = answer.probabilities || new Array(10).fill(0);
  bars.querySelectorAll("li").forEach((item, digit) => {
    const value = probabilities[digit];
    item.querySelector(".bar span").style.width = percent(value, 1);
    item.querySelector(".value").textContent = percent(value, 1);
    item.classList.toggle("top", digit === answer.digit);
  });
  if (answer.model_input) seen.src = "data:image/png;base64," + answer.model_input;
  else seen.removeAttribute("src");
  seen.hidden = !answer.model_input;  // no broken-image icon before the first answer
  if (answer.status === "no_digit") show("No digit", "no_digit", answer.reason);
  else if (answer.status === "unsure") show(`Unsure (${answer.digit}?)`, "unsure", answer.reason);
  else show(`${answer.digit}`, "ok", `${percent(answer.confidence, 1)} sure`);
}

function showNumber(reading, target, scale) {
  digitView.hidden = true;
  target.clearRect(0, 0, target.canvas.width, target.canvas.height);
  const lineWidth = Math.max(2, target.canvas.width / 200);
  target.lineWidth = lineWidth;
  const fontSize = Math.max(14, target.canvas.height / 12);
  target.font = `${fontSize}px system-ui, sans-serif`;
  for (const digit of reading.digits) {
    const [x, y, w, h] = digit.box.map((value) => value / scale);
    // A digit to check is boxed in red and dashed (not by colour alone).
    const sure = digit.status === "ok";
    target.strokeStyle = target.fillStyle = sure ? "#0b5cad" : "#a30000";
    target.setLineDash(sure ? [] : [3 * lineWidth, 2 * lineWidth]);
    target.strokeRect(x, y, w, h);
    // Above its box, or inside it where the box starts at the image's top (not cut off).
    target.fillText(String(digit.digit), x, Math.max(fontSize, y - 4));
  }
  target.setLineDash([]);
  // The number reader's probability of the whole text (null without a number reader).
  const whole = reading.confidence == null ? "" : ` (the number at ${percent(reading.confidence)})`;
  const count = `${reading.digits.length} digit${reading.digits.length === 1 ? "" : "s"}${whole}`;
  const each = reading.digits.map((digit) => `${digit.digit} at ${percent(digit.confidence)}`);
  if (reading.status === "no_digit") show("No digit", "no_digit", reading.reason || "");
  else show(reading.text, reading.status, reading.status === "unsure" ? `Unsure: ${reading.reason}`
            : `${count}: ${each.join(", ")}`);
}

// A probability in [0, 1] as a percentage with this many decimals (a number's digits: none).
function percent(probability, decimals = 0) {
  return `${(probability * 100).toFixed(decimals)}%`;
}

document.getElementById("clear").addEventListener("click", () => {
  clearCanvas();
  schedule(0);
});
document.querySelectorAll("input[name=mode]").forEach((input) =>
  input.addEventListener("change", () => {
    photoView.hidden = true;
    digitsField.hidden = mode() !== "number";
    schedule(0);
  }));
digitsInput.addEventListener("change", () => schedule(0));

document.getElementById("photo").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  clearTimeout(pending);  // the photo replaces whatever drawing was waiting to be read
  const request = ++latest;
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, {imageOrientation: "from-image"});
  } catch (error) {
    // The browser cannot show it (a HEIC photo in most browsers, or not an image at all): the
    // server may still read it, and says why not if it cannot.
    photoView.hidden = true;
    digitView.hidden = true;
    try {
      const reading = await post(readUrl(), file);
      if (request !== latest) return;
      if (reading.status === "no_digit") show("No digit", "no_digit", reading.reason || "");
      else show(reading.text, reading.status, "This browser cannot show the photo itself");
    } catch (serverError) {
      if (request !== latest) return;
      show("Cannot read this file", "no_digit", serverError.message);
    }
    return;
  }
  photoCanvas.width = bitmap.width;
  photoCanvas.height = bitmap.height;
  const photoContext = photoCanvas.getContext("2d");
  photoView.hidden = false;
  try {
    const reading = await post(readUrl(), file);
    if (request !== latest) return;
    photoContext.drawImage(bitmap, 0, 0);
    // Boxes come in the file's pixels; the bitmap is the file's size, upright.
    const boxes = document.createElement("canvas");
    boxes.width = bitmap.width; boxes.height = bitmap.height;
    showNumber(reading, boxes.getContext("2d"), 1);
    photoContext.drawImage(boxes, 0, 0);
  } catch (error) {
    if (request !== latest) return;
    photoContext.drawImage(bitmap, 0, 0);
    show("Cannot read this photo", "no_digit", error.message);
  }
  event.target.value = "";
});

clearCanvas();
