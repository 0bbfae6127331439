#!/usr/bin/python3
"""Render a watermarked page in headless Chromium at a phone-sized viewport
and check the watermark from the rendered DOM and from the pixels.

No npm, no Playwright: Chromium (Debian package `chromium`) is driven over
the DevTools protocol with websocket-client (Debian `python3-websocket`).

    python3 t/browser/watermark_check.py URL --cookie 'qiwei_session=...' \
        --expect-name 'Alice Tester' [--link '#tap'] \
        [--screenshot artefacts/watermark-mobile.png] [--pdf out.pdf]

Prints one "ok - ..." or "not ok - ..." line per check (TAP style, so
t/81_watermark_browser.t can relay them) and exits 1 if any check failed,
2 if the browser could not be driven at all.

Checks:
  * exactly one overlay element (#qiwei-wm) is in the DOM;
  * it is position:fixed, displayed, visible, opacity 1, pointer-events:none
    and its bounding box covers the whole viewport, also after scrolling;
  * the element at the centre of the link under it is the link, and a real
    (synthesised) touch tap and mouse click there reach the link;
  * its computed background-image, URL-decoded, contains the viewer's name;
  * pixels: the overlay changes pixels in every cell of a 2x4 grid of the
    viewport (it tiles across the whole page), faintly (no pixel changes by
    more than --max-delta of 255, default 96), yet visibly (some change by at
    least --min-delta, default 6);
  * print: with print media emulated it is still displayed and covers the
    page, with print-color-adjust: exact; Page.printToPDF succeeds.
"""
import argparse
import base64
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import zlib

try:
    import websocket  # python3-websocket (websocket-client)
except ImportError:  # reported as a failure by main()
    websocket = None

MOBILE_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
             "(KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36")

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu",
    "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync", "--disable-quic",
    "--disable-extensions", "--disable-default-apps", "--mute-audio",
    "--hide-scrollbars", "--no-default-browser-check",
    "--remote-allow-origins=*", "--remote-debugging-port=0",
]


def find_chromium():
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser",
                 "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


class Browser:
    """One headless Chromium with a fresh profile, one page target."""

    def __init__(self, binary, timeout=30):
        self.profile = tempfile.mkdtemp(prefix="qiwei-chromium-")
        self.log = open(os.path.join(self.profile, "chromium.log"), "wb")
        self.proc = subprocess.Popen(
            [binary] + CHROMIUM_FLAGS
            + ["--user-data-dir=" + self.profile, "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        port = None
        deadline = time.time() + timeout
        portfile = os.path.join(self.profile, "DevToolsActivePort")
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("chromium exited with %s: %s" % (
                    self.proc.returncode, self.tail()))
            try:
                with open(portfile) as f:
                    port = int(f.readline().strip())
                break
            except (OSError, ValueError):
                time.sleep(0.1)
        if port is None:
            raise RuntimeError("chromium did not open DevTools: " + self.tail())
        ws_url = None
        while time.time() < deadline and ws_url is None:
            with urllib.request.urlopen(
                    "http://127.0.0.1:%d/json/list" % port, timeout=5) as r:
                for t in json.load(r):
                    if t.get("type") == "page":
                        ws_url = t["webSocketDebuggerUrl"]
                        break
            if ws_url is None:
                time.sleep(0.1)
        if ws_url is None:
            raise RuntimeError("no page target")
        self.ws = websocket.create_connection(ws_url, timeout=timeout,
                                              suppress_origin=True)
        self.next_id = 0
        self.events = []

    def tail(self):
        try:
            self.log.flush()
            with open(self.log.name, "rb") as f:
                return f.read()[-2000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def send(self, method, **params):
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method,
                                 "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_event(self, method, timeout=30):
        deadline = time.time() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e["method"] == method:
                    return self.events.pop(i)
            if time.time() > deadline:
                raise RuntimeError("timeout waiting for " + method)
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                self.events.append(msg)

    def js(self, expr):
        """Evaluate expr (its value must be JSON-serialisable)."""
        r = self.send("Runtime.evaluate", expression=expr,
                      returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError("JS: %s" % json.dumps(r["exceptionDetails"]))
        return r["result"].get("value")

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def png_pixels(data):
    """Decode an 8-bit RGB/RGBA PNG (what Chromium writes): (w, h, bpp,
    rows)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB",
                                                                body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise ValueError("unsupported PNG %d/%d" % (depth, ctype))
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(h):
        f = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        if f == 1:
            for x in range(bpp, stride):
                line[x] = (line[x] + line[x - bpp]) & 255
        elif f == 2:
            for x in range(stride):
                line[x] = (line[x] + prev[x]) & 255
        elif f == 3:
            for x in range(stride):
                left = line[x - bpp] if x >= bpp else 0
                line[x] = (line[x] + ((left + prev[x]) >> 1)) & 255
        elif f == 4:
            for x in range(stride):
                a = line[x - bpp] if x >= bpp else 0
                b = prev[x]
                c = prev[x - bpp] if x >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pr) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def overlay_diff(png_with, png_without, gx=2, gy=4):
    """Per grid cell: (changed pixels, largest channel change)."""
    w, h, bpp, a = png_pixels(png_with)
    w2, h2, bpp2, b = png_pixels(png_without)
    if (w, h) != (w2, h2):
        raise ValueError("screenshots differ in size")
    cells = [[0, 0] for _ in range(gx * gy)]
    for y in range(h):
        ra, rb = a[y], b[y]
        if ra == rb:
            continue
        cy = min(y * gy // h, gy - 1)
        for x in range(w):
            o, o2 = x * bpp, x * bpp2
            d = max(abs(ra[o] - rb[o2]), abs(ra[o + 1] - rb[o2 + 1]),
                    abs(ra[o + 2] - rb[o2 + 2]))
            if d:
                c = cells[cy * gx + min(x * gx // w, gx - 1)]
                c[0] += 1
                if d > c[1]:
                    c[1] = d
    return cells


OVERLAY_JS = r"""
(function () {
  var all = document.querySelectorAll('#qiwei-wm');
  var el = all[0];
  if (!el) return {count: 0};
  var r = el.getBoundingClientRect();
  var cs = getComputedStyle(el);
  return {
    count: all.length,
    rect: [r.left, r.top, r.right, r.bottom],
    vw: window.innerWidth, vh: window.innerHeight,
    position: cs.position, display: cs.display,
    visibility: cs.visibility, opacity: cs.opacity,
    pointerEvents: cs.pointerEvents, zIndex: cs.zIndex,
    printAdjust: cs.printColorAdjust || cs.webkitPrintColorAdjust || '',
    bg: cs.backgroundImage, bgRepeat: cs.backgroundRepeat
  };
})()
"""


class Checker:
    def __init__(self):
        self.failed = 0
        self.n = 0

    def ok(self, cond, name, diag=None):
        self.n += 1
        print("%s - %s" % ("ok" if cond else "not ok", name))
        if not cond:
            self.failed += 1
            if diag is not None:
                for line in str(diag).splitlines():
                    print("# " + line)
        sys.stdout.flush()
        return cond


def covers(o, slack=0.5):
    l, t, r, b = o["rect"]
    return (l <= slack and t <= slack and r >= o["vw"] - slack
            and b >= o["vh"] - slack)


def check_overlay(c, o, where, name):
    if not c.ok(o.get("count") == 1, "%s: exactly one overlay element"
                % where, o):
        return
    c.ok(o["position"] == "fixed", "%s: position fixed" % where, o)
    c.ok(o["display"] != "none" and o["visibility"] == "visible"
         and o["opacity"] == "1", "%s: displayed and visible" % where, o)
    c.ok(covers(o), "%s: covers the %sx%s viewport" % (where, o["vw"],
                                                       o["vh"]), o["rect"])
    c.ok(o["pointerEvents"] == "none", "%s: pointer-events none" % where, o)
    bg = urllib.parse.unquote(o["bg"] or "")
    c.ok(name in bg, "%s: background-image shows %r" % (where, name),
         bg[:300])
    c.ok(o["bgRepeat"].startswith("repeat"), "%s: tiled" % where, o)


def poll(b, expr, good, timeout=10):
    """expr's value once good(value) holds, or its last value after
    timeout seconds."""
    deadline = time.time() + timeout
    while True:
        v = b.js(expr) or 0
        if good(v) or time.time() > deadline:
            return v
        time.sleep(0.1)


def run(args, c):
    b = Browser(args.chromium, timeout=args.timeout)
    try:
        b.send("Page.enable")
        b.send("Network.enable")
        b.send("Emulation.setDeviceMetricsOverride", width=args.width,
               height=args.height, deviceScaleFactor=args.scale, mobile=True,
               screenWidth=args.width, screenHeight=args.height)
        b.send("Emulation.setTouchEmulationEnabled", enabled=True,
               maxTouchPoints=5)
        b.send("Emulation.setUserAgentOverride", userAgent=MOBILE_UA,
               platform="Android")
        if args.cookie:
            name, _, value = args.cookie.partition("=")
            b.send("Network.setCookie", name=name.strip(),
                   value=value.strip(), url=args.url)
        b.send("Page.navigate", url=args.url)
        b.wait_event("Page.loadEventFired", timeout=args.timeout)
        b.js("document.fonts.ready.then(function () { return 1; })")
        info = b.js("({url: location.href, title: document.title, "
                    "status: performance.getEntriesByType('navigation')[0]"
                    ".responseStatus || 0})")
        c.ok(info["url"] == args.url, "loaded %s" % args.url, info)

        # --- overlay from the DOM -------------------------------------------
        o = b.js(OVERLAY_JS)
        check_overlay(c, o, "screen", args.expect_name)
        if o.get("count") != 1:
            return

        # --- the link under the overlay gets the taps -------------------------
        link = b.js("""(function () {
          var a = document.querySelector(%s);
          if (!a) return null;
          a.scrollIntoView({block: 'center'});
          var r = a.getBoundingClientRect();
          var x = r.left + r.width / 2, y = r.top + r.height / 2;
          var e = document.elementFromPoint(x, y);
          window.__qwTaps = 0;
          a.addEventListener('click', function (ev) {
            window.__qwTaps++; ev.preventDefault(); });
          return {x: x, y: y, hit: !!e && (e === a || a.contains(e)),
                  tag: e ? e.tagName + '#' + e.id : null};
        })()""" % json.dumps(args.link))
        if c.ok(link is not None, "link %s is on the page" % args.link):
            c.ok(link["hit"], "elementFromPoint at the link's centre is the "
                 "link, not the overlay", link)
            x, y = link["x"], link["y"]
            b.send("Input.dispatchTouchEvent", type="touchStart",
                   touchPoints=[{"x": x, "y": y}])
            b.send("Input.dispatchTouchEvent", type="touchEnd",
                   touchPoints=[])
            # the click a tap makes comes when the gesture ends: wait for
            # it (a slow machine), do not guess how long that takes
            taps = poll(b, "window.__qwTaps", lambda n: n >= 1)
            c.ok(taps >= 1, "a touch tap on the link reaches it", taps)
            for t in ("mousePressed", "mouseReleased"):
                b.send("Input.dispatchMouseEvent", type=t, x=x, y=y,
                       button="left", clickCount=1)
            c.ok(poll(b, "window.__qwTaps", lambda n: n > taps) > taps,
                 "a mouse click on the link reaches it")

        # --- covers the viewport after scrolling too --------------------------
        b.js("window.scrollTo(0, document.documentElement.scrollHeight)")
        o2 = b.js(OVERLAY_JS)
        c.ok(covers(o2), "after scrolling: still covers the viewport",
             o2.get("rect"))
        b.js("window.scrollTo(0, 0)")
        time.sleep(0.2)

        # --- pixels: screenshot, then the same without the overlay -------------
        shot = base64.b64decode(b.send("Page.captureScreenshot",
                                       format="png")["data"])
        if args.screenshot:
            os.makedirs(os.path.dirname(os.path.abspath(args.screenshot)),
                        exist_ok=True)
            with open(args.screenshot, "wb") as f:
                f.write(shot)
            print("# screenshot: %s" % args.screenshot)
        # Take the overlay out of the DOM (a <style> of ours would be
        # blocked by the page's CSP), shoot again, put it back.
        b.js("(function () { var e = document.getElementById('qiwei-wm');"
             "window.__qwWm = [e, e.parentNode, e.nextSibling]; e.remove();"
             "})()")
        hidden = b.js(OVERLAY_JS)
        bare = base64.b64decode(b.send("Page.captureScreenshot",
                                       format="png")["data"])
        b.js("(function () { var w = window.__qwWm;"
             "w[1].insertBefore(w[0], w[2]); })()")
        if c.ok(hidden.get("count") == 0,
                "control: the overlay can be taken out for the comparison",
                hidden):
            cells = overlay_diff(shot, bare)
            c.ok(all(n > 0 for n, _ in cells),
                 "pixels: the watermark is drawn in every cell of a 2x4 grid "
                 "of the viewport", cells)
            top = max(d for _, d in cells)
            c.ok(top <= args.max_delta, "pixels: faint (largest change %d "
                 "<= %d of 255)" % (top, args.max_delta), cells)
            c.ok(top >= args.min_delta, "pixels: visible (largest change %d "
                 ">= %d of 255)" % (top, args.min_delta), cells)

        # --- print -------------------------------------------------------------
        b.send("Emulation.setEmulatedMedia", media="print")
        p = b.js(OVERLAY_JS)
        check_overlay(c, p, "print", args.expect_name)
        c.ok(p.get("printAdjust") == "exact", "print: print-color-adjust "
             "exact", p.get("printAdjust"))
        b.send("Emulation.setEmulatedMedia", media="")
        pdf = base64.b64decode(b.send("Page.printToPDF",
                                      printBackground=False)["data"])
        c.ok(pdf[:5] == b"%PDF-", "Page.printToPDF gives a PDF (%d bytes)"
             % len(pdf))
        if args.pdf:
            with open(args.pdf, "wb") as f:
                f.write(pdf)
            print("# pdf: %s" % args.pdf)
    finally:
        b.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("url")
    ap.add_argument("--cookie", help="NAME=VALUE sent with the request")
    ap.add_argument("--expect-name", required=True,
                    help="text the watermark must show (the viewer's name)")
    ap.add_argument("--link", default="a", help="CSS selector of a link "
                    "that must stay tappable (default: the first <a>)")
    ap.add_argument("--screenshot", help="where to write the PNG")
    ap.add_argument("--pdf", help="where to write the printed PDF")
    ap.add_argument("--width", type=int, default=390)
    ap.add_argument("--height", type=int, default=844)
    ap.add_argument("--scale", type=float, default=3)
    ap.add_argument("--max-delta", type=int, default=96)
    ap.add_argument("--min-delta", type=int, default=6)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--chromium", default=find_chromium())
    args = ap.parse_args()

    c = Checker()
    if not c.ok(websocket is not None, "python3-websocket is installed"):
        return 2
    if not c.ok(args.chromium is not None, "chromium is installed"):
        return 2
    try:
        run(args, c)
    except Exception as e:  # the browser could not be driven
        c.ok(False, "driving chromium", "%s: %s" % (type(e).__name__, e))
        return 2
    print("# %d checks, %d failed" % (c.n, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
