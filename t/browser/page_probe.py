#!/usr/bin/python3
"""Open one page in headless Chromium with given cookies and report what
the page did: its title, the requests it made to a URL part (e.g. the admin
API) with their statuses, and whether an image of it loaded.

Uses the CDP driver of watermark_check.py (Debian chromium and
python3-websocket, no npm).

    python3 t/browser/page_probe.py URL --cookie 'NAME=VALUE;/path' ... \
        [--watch /api/v1/] [--image '#pic' ...] [--settle 3] \
        [--width 390 --height 844] [--lang en] [--screenshot out.png]

With --width/--height the viewport is that size (a phone's below 600
pixels wide) and the report has the page's scroll_width and inner_width
(wider content than the viewport means a horizontal scroll bar).

Prints one JSON object on stdout and exits 0; exits 2 when the browser
could not be driven (the message on stderr).
"""
import argparse
import base64
import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import watermark_check as wc  # noqa: E402


def drain(b, seconds):
    """Collect events for `seconds`."""
    deadline = time.time() + seconds
    b.ws.settimeout(0.2)
    try:
        while time.time() < deadline:
            try:
                msg = json.loads(b.ws.recv())
            except Exception:
                continue
            if "method" in msg:
                b.events.append(msg)
    finally:
        b.ws.settimeout(30)


def evaluate(b, expr):
    """Runtime.evaluate; None when scripts cannot run there at all."""
    try:
        return b.js(expr)
    except Exception as e:  # a sandboxed page may refuse even this
        return {"error": str(e)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--cookie", action="append", default=[],
                    help="NAME=VALUE;PATH")
    ap.add_argument("--watch", default="/api/v1/")
    ap.add_argument("--image", action="append", default=[],
                    help="CSS selector of an <img>: its naturalWidth")
    ap.add_argument("--settle", type=float, default=3)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--width", type=int, default=0)
    ap.add_argument("--height", type=int, default=0)
    ap.add_argument("--lang", help="Accept-Language to send")
    ap.add_argument("--screenshot", help="where to write a PNG of the page")
    ap.add_argument("--chromium", default=wc.find_chromium())
    args = ap.parse_args()
    if wc.websocket is None or not args.chromium:
        print("python3-websocket or chromium missing", file=sys.stderr)
        return 2
    u = urllib.parse.urlsplit(args.url)
    origin = "%s://%s" % (u.scheme, u.netloc)
    out = {"requests": []}
    b = None
    try:
        b = wc.Browser(args.chromium, timeout=args.timeout)
        b.send("Network.enable")
        if args.width and args.height:
            mobile = args.width < 600
            b.send("Emulation.setDeviceMetricsOverride", width=args.width,
                   height=args.height, deviceScaleFactor=1, mobile=mobile,
                   screenWidth=args.width, screenHeight=args.height)
        if args.lang:
            b.send("Network.setExtraHTTPHeaders",
                   headers={"Accept-Language": args.lang})
        for c in args.cookie:
            pair, _, path = c.partition(";")
            name, _, value = pair.partition("=")
            path = path or "/"
            b.send("Network.setCookie", name=name, value=value,
                   url=origin + path, path=path, httpOnly=True)
        b.send("Page.enable")
        b.send("Page.navigate", url=args.url)
        b.wait_event("Page.loadEventFired", timeout=args.timeout)
        drain(b, args.settle)
        sent, status = {}, {}
        for e in b.events:
            p = e.get("params", {})
            if e["method"] == "Network.requestWillBeSent":
                sent[p["requestId"]] = (p["request"]["method"],
                                        p["request"]["url"])
            elif e["method"] == "Network.responseReceived":
                status[p["requestId"]] = p["response"]["status"]
                if p["response"]["url"] == args.url:
                    out["headers"] = p["response"].get("headers", {})
            elif e["method"] == "Network.loadingFailed":
                status.setdefault(p["requestId"],
                                  "failed: " + p.get("errorText", ""))
        for rid, (method, url) in sent.items():
            if args.watch in url:
                out["requests"].append({"method": method, "url": url,
                                        "status": status.get(rid)})
        out["title"] = evaluate(b, "document.title")
        if args.width:
            out["scroll_width"] = evaluate(
                b, "document.documentElement.scrollWidth")
            out["inner_width"] = evaluate(b, "window.innerWidth")
        if args.screenshot:
            shot = b.send("Page.captureScreenshot", format="png")["data"]
            os.makedirs(os.path.dirname(os.path.abspath(args.screenshot)),
                        exist_ok=True)
            with open(args.screenshot, "wb") as f:
                f.write(base64.b64decode(shot))
        out["marker"] = evaluate(b, "document.getElementById('qw-ran') "
                                    "? document.getElementById('qw-ran')"
                                    ".textContent : null")
        out["image_width"] = {}
        for sel in args.image:
            out["image_width"][sel] = evaluate(
                b, "(function(){var i=document.querySelector(%s);"
                   "return i ? i.naturalWidth : null})()" % json.dumps(sel))
    except Exception as e:
        print("%s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 2
    finally:
        if b:
            b.close()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
