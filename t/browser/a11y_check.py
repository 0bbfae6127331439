#!/usr/bin/python3
"""Load one page in headless Chromium at a given viewport and language,
run axe-core on it, walk it with the keyboard, and report.

Uses the CDP driver of watermark_check.py (Debian chromium and
python3-websocket, no npm at run time).  axe-core is the vendored copy in
t/browser/vendor/ (test-only); its SHA256SUMS are checked before a byte of
it is injected.

    python3 t/browser/a11y_check.py URL [--cookie 'NAME=VALUE;/path'] \
        --width 390 --height 844 --lang zh-CN --screenshot out.png \
        [--wait CSS]

A page that draws itself (the admin console) is looked at once --wait's
CSS selector matches (within --timeout) and the console has no API call
on its way; without --wait, half a second after its load event.

Prints one JSON object on stdout and exits 0:
  title, lang (of <html>), csp (the response header), scroll_width,
  inner_width, violations: [{id, impact, help, nodes: [html...]}] (every
  impact; the caller decides which fail), controls: the number of
  focusable controls, tab_reached: how many of them Tab reached,
  unlabelled: controls without an accessible name, focus_visible: whether
  each focused control drew a visible focus indicator (outline or box
  shadow), axe_version.
Exits 2 when the browser could not be driven or the vendored files do not
match their checksums (the message on stderr).
"""
import argparse
import base64
import hashlib
import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import watermark_check as wc  # noqa: E402
from page_probe import drain  # noqa: E402

AXE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "vendor", "axe-core-4.14.1")


def verified_axe(d):
    """The text of axe.min.js once every file in SHA256SUMS matches."""
    sums = os.path.join(d, "SHA256SUMS")
    seen = set()
    with open(sums) as f:
        for line in f:
            if not line.strip():
                continue
            want, name = line.split(None, 1)
            name = name.strip().lstrip("*")
            with open(os.path.join(d, name), "rb") as g:
                got = hashlib.sha256(g.read()).hexdigest()
            if got != want:
                raise RuntimeError("%s: sha256 %s, SHA256SUMS says %s"
                                   % (name, got, want))
            seen.add(name)
    if "axe.min.js" not in seen or "LICENSE" not in seen:
        raise RuntimeError("SHA256SUMS does not cover axe.min.js and LICENSE")
    with open(os.path.join(d, "axe.min.js"), encoding="utf-8") as f:
        return f.read()


# Every control a keyboard user must reach, in the page's DOM.
CONTROLS_JS = """(function(){
  var q = 'a[href], button, input:not([type=hidden]), select, textarea,'
        + ' [tabindex]:not([tabindex="-1"])';
  var els = Array.prototype.slice.call(document.querySelectorAll(q))
    .filter(function(e){ return !e.disabled && e.getClientRects().length; });
  els.forEach(function(e, i){ e.setAttribute('data-qw-ctl', String(i)); });
  return els.length;
})()"""

FOCUSED_JS = """(function(){
  var e = document.activeElement;
  if (!e || e === document.body) return null;
  var s = getComputedStyle(e);
  var ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
             || (s.boxShadow && s.boxShadow !== 'none');
  return {id: e.getAttribute('data-qw-ctl'), ring: ring,
          tag: e.tagName.toLowerCase()};
})()"""

UNLABELLED_JS = """(function(){
  var out = [];
  document.querySelectorAll('[data-qw-ctl]').forEach(function(e){
    var name = '';
    if (e.labels && e.labels.length) name = e.labels[0].textContent;
    name = name || e.getAttribute('aria-label') || e.textContent || '';
    if (!name.trim()) out.push(e.outerHTML.slice(0, 120));
  });
  return out;
})()"""


def press_tab(b):
    for kind in ("rawKeyDown", "keyUp"):
        b.send("Input.dispatchKeyEvent", type=kind, key="Tab", code="Tab",
               windowsVirtualKeyCode=9, nativeVirtualKeyCode=9)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--cookie", action="append", default=[],
                    help="NAME=VALUE;PATH")
    ap.add_argument("--width", type=int, default=390)
    ap.add_argument("--height", type=int, default=844)
    ap.add_argument("--lang", default="en", help="Accept-Language to send")
    ap.add_argument("--screenshot", help="where to write a PNG of the page")
    ap.add_argument("--full-page", action="store_true",
                    help="the screenshot covers the whole page")
    ap.add_argument("--axe-dir", default=AXE_DIR)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--wait", help="CSS: look once an element matches "
                    "(and no API call of the console is on its way)")
    ap.add_argument("--chromium", default=wc.find_chromium())
    args = ap.parse_args()
    if wc.websocket is None or not args.chromium:
        print("python3-websocket or chromium missing", file=sys.stderr)
        return 2
    try:
        axe = verified_axe(args.axe_dir)
    except (OSError, ValueError, RuntimeError) as e:
        print("vendored axe-core: %s" % e, file=sys.stderr)
        return 2
    u = urllib.parse.urlsplit(args.url)
    origin = "%s://%s" % (u.scheme, u.netloc)
    out = {}
    b = None
    try:
        b = wc.Browser(args.chromium, timeout=args.timeout)
        b.send("Network.enable")
        b.send("Emulation.setDeviceMetricsOverride", width=args.width,
               height=args.height, deviceScaleFactor=1,
               mobile=args.width < 600, screenWidth=args.width,
               screenHeight=args.height)
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
        drain(b, 0.5)
        if args.wait:
            ready = ("!!document.querySelector(%s) && !document.querySelector("
                     "'#main[aria-busy=true]')" % json.dumps(args.wait))
            deadline = time.time() + args.timeout
            while not b.js(ready):
                if time.time() > deadline:
                    raise RuntimeError("timeout waiting for " + args.wait)
                drain(b, 0.1)
        for e in b.events:
            p = e.get("params", {})
            if (e["method"] == "Network.responseReceived"
                    and p["response"]["url"] == args.url):
                h = {k.lower(): v for k, v in
                     p["response"].get("headers", {}).items()}
                out["csp"] = h.get("content-security-policy")
                out["status"] = p["response"]["status"]
        out["title"] = b.js("document.title")
        out["lang"] = b.js("document.documentElement.lang")
        out["scroll_width"] = b.js("document.documentElement.scrollWidth")
        out["inner_width"] = b.js("window.innerWidth")
        if args.screenshot:
            shot_args = {"format": "png"}
            if args.full_page:
                m = b.send("Page.getLayoutMetrics")["cssContentSize"]
                shot_args["captureBeyondViewport"] = True
                shot_args["clip"] = {"x": 0, "y": 0, "width": args.width,
                                     "height": max(args.height,
                                                   m["height"]),
                                     "scale": 1}
            shot = b.send("Page.captureScreenshot", **shot_args)["data"]
            os.makedirs(os.path.dirname(os.path.abspath(args.screenshot)),
                        exist_ok=True)
            with open(args.screenshot, "wb") as f:
                f.write(base64.b64decode(shot))
        # the keyboard: Tab from the top reaches every control, each with a
        # visible focus ring
        n = b.js(CONTROLS_JS)
        out["controls"] = n
        out["unlabelled"] = b.js(UNLABELLED_JS)
        reached, rings = set(), []
        for _ in range(n + 2):
            press_tab(b)
            f = b.js(FOCUSED_JS)
            if f and f.get("id") is not None:
                reached.add(f["id"])
                rings.append(bool(f.get("ring")))
        out["tab_reached"] = len(reached)
        out["focus_visible"] = all(rings) if rings else None
        # axe-core, injected over DevTools (the page's own CSP allows no
        # script, and that is what is being tested)
        b.js(axe + "\n;true")
        res = b.js("axe.run(document, {resultTypes: ['violations']})"
                   ".then(function(r){ return {version: axe.version,"
                   " v: r.violations.map(function(x){ return {id: x.id,"
                   " impact: x.impact, help: x.help, nodes: x.nodes.slice("
                   "0, 5).map(function(n){ return n.html.slice(0, 200); })"
                   "}; })}; })")
        out["axe_version"] = res["version"]
        out["violations"] = res["v"]
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
