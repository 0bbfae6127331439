#!/usr/bin/python3
"""Drive the admin console in headless Chromium through a script of steps
and report what happened.

Uses the CDP driver of watermark_check.py (Debian chromium and
python3-websocket); axe-core is the vendored, checksummed copy that
a11y_check.py verifies.

    python3 t/browser/console_check.py < script.json

The script (JSON on stdin):
  {"base": "http://127.0.0.1:8529", "width": 390, "height": 844,
   "lang": "zh-CN", "shots": "/dir/for/screenshots",
   "cookies": ["qiwei_admin=...;/t220/qiwei/"],   (optional, HttpOnly)
   "steps": [STEP, ...]}
Steps, run in order (a failing step stops the run):
  {"go": "/t220/qiwei/console/"}          navigate, wait for its load
  {"wait": CSS, "text": "substr", "timeout": 20}
                                          until an element matches (and
                                          its textContent holds text)
  {"wait_js": EXPR, "timeout": 20}        until EXPR is truthy
  {"settle": true, "timeout": 20}         until no API call of the console
                                          is on its way (<main> is not
                                          aria-busy: every answer came and
                                          was drawn, or dropped)
  {"fill": CSS, "value": "..."}           set a field's value (input event)
  {"fill_totp": CSS, "secret": B32 | "secret_from": CSS, "offset": 0}
                                          the RFC 6238 code of the secret
                                          at now + offset seconds
  {"select": CSS, "value": "en"}          choose an option (change event)
  {"click": CSS}
  {"size": [1280, 800]}                   resize the viewport
  {"eval": EXPR, "as": NAME}              keep EXPR's value (awaited)
  {"text": CSS, "as": NAME}               keep an element's textContent
  {"shot": "name.png", "scroll_to": CSS}  screenshot into "shots" (after
                                          scrolling CSS into view)
  {"axe": NAME}                           run axe-core, keep its violations
  {"sleep": 0.5}
  {"hold": "*api/v1/departments*"}        hold the page's requests whose URL
                                          matches (CDP Fetch): they wait
  {"release": true, "timeout": 20}        until one was held, then let every
                                          held request go on (and hold no
                                          more)
  {"release": "result=success"}           until a held request's URL holds
                                          the text, then let those go on
                                          (the others stay held)
  {"hold": [{"url": "*/roles/*"}, {"url": "*/api/v1/admins?*",
            "stage": "Response"}]}       several patterns; a Response one
                                          holds the server's answer (the
                                          server has done the call)
  {"held": TEXT, "count": 1, "timeout": 20}
                                          until that many held requests'
                                          URLs hold the text (none goes on)
  {"release": TEXT, "count": 2, "newest": true}
                                          until that many held requests
                                          match, then let only the newest
                                          of them go on
A step's timeout is 20 s unless it says (CI machines may be slow and
loaded; a wait ends as soon as its condition holds).
Prints {"ok": bool, "step": index of the failing step, "error": ...,
"results": {NAME: value}, "dialogs": [...], "exceptions": [...]} and exits
0; exits 2 when the browser could not be started.
"""
import base64
import hashlib
import hmac
import json
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import watermark_check as wc  # noqa: E402
from a11y_check import verified_axe, AXE_DIR  # noqa: E402
from page_probe import drain  # noqa: E402


def totp(b32, at):
    """RFC 6238: SHA-1, 6 digits, 30 s steps."""
    key = base64.b32decode(b32.upper() + "=" * (-len(b32) % 8))
    msg = struct.pack(">Q", int(at // 30))
    d = hmac.new(key, msg, hashlib.sha1).digest()
    o = d[-1] & 15
    n = struct.unpack(">I", d[o:o + 4])[0] & 0x7fffffff
    return "%06d" % (n % 1000000)


def q(css):
    return json.dumps(css)


def wait_js(b, expr, timeout):
    deadline = time.time() + timeout
    while True:
        v = b.js("(function(){try{return !!(%s)}catch(e){return false}})()"
                 % expr)
        if v:
            return
        if time.time() > deadline:
            raise RuntimeError("timeout waiting for %s" % expr)
        drain(b, 0.1)


def set_size(b, w, h):
    b.send("Emulation.setDeviceMetricsOverride", width=w, height=h,
           deviceScaleFactor=1, mobile=w < 600, screenWidth=w,
           screenHeight=h)


def run_step(b, s, cfg, results, axe):
    t = s.get("timeout", 20)
    if "go" in s:
        # a load event of an earlier page (a form that navigated, a
        # reload) must not pass for this navigation's
        drain(b, 0.2)
        b.events = [e for e in b.events
                    if e["method"] != "Page.loadEventFired"]
        b.send("Page.navigate", url=cfg["base"] + s["go"])
        b.wait_event("Page.loadEventFired", timeout=30)
    elif "wait" in s:
        expr = "document.querySelector(%s)" % q(s["wait"])
        if "text" in s:
            expr = ("(function(){var e=document.querySelector(%s);"
                    "return e && e.textContent.indexOf(%s) >= 0})()"
                    % (q(s["wait"]), json.dumps(s["text"])))
        wait_js(b, expr, t)
    elif "wait_js" in s:
        wait_js(b, s["wait_js"], t)
    elif "settle" in s:
        wait_js(b, "!document.querySelector('#main[aria-busy=true]')", t)
    elif "fill" in s or "fill_totp" in s:
        css = s.get("fill") or s.get("fill_totp")
        if "fill_totp" in s:
            secret = s.get("secret") or b.js(
                "document.querySelector(%s).textContent" % q(s["secret_from"]))
            value = totp(secret.strip(), time.time() + s.get("offset", 0))
        else:
            value = s["value"]
        ok = b.js("(function(){var e=document.querySelector(%s);"
                  "if(!e) return false; e.focus(); e.value=%s;"
                  "e.dispatchEvent(new Event('input',{bubbles:true}));"
                  "return true})()" % (q(css), json.dumps(value)))
        if not ok:
            raise RuntimeError("no field " + css)
    elif "select" in s:
        ok = b.js("(function(){var e=document.querySelector(%s);"
                  "if(!e) return false; e.value=%s;"
                  "e.dispatchEvent(new Event('change',{bubbles:true}));"
                  "return true})()" % (q(s["select"]), json.dumps(s["value"])))
        if not ok:
            raise RuntimeError("no select " + s["select"])
    elif "click" in s:
        ok = b.js("(function(){var e=document.querySelector(%s);"
                  "if(!e) return false; e.click(); return true})()"
                  % q(s["click"]))
        if not ok:
            raise RuntimeError("nothing to click at " + s["click"])
    elif "size" in s:
        set_size(b, s["size"][0], s["size"][1])
        drain(b, 0.3)
    elif "eval" in s:
        results[s.get("as", "eval")] = b.js(s["eval"])
    elif "text" in s:
        results[s["as"]] = b.js(
            "(function(){var e=document.querySelector(%s);"
            "return e ? e.textContent : null})()" % q(s["text"]))
    elif "shot" in s:
        if "scroll_to" in s:
            b.js("(function(){var e=document.querySelector(%s);"
                 "if(e) e.scrollIntoView({block: 'center'}); return 1})()"
                 % q(s["scroll_to"]))
            drain(b, 0.2)
        shot = b.send("Page.captureScreenshot", format="png")["data"]
        path = os.path.join(cfg["shots"], s["shot"])
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot))
        results.setdefault("shots", []).append(path)
    elif "axe" in s:
        if not b.js("typeof axe !== 'undefined'"):
            b.js(axe + "\n;true")
        res = b.js("axe.run(document, {resultTypes: ['violations']})"
                   ".then(function(r){ return r.violations.map(function(x){"
                   " return {id: x.id, impact: x.impact, help: x.help,"
                   " nodes: x.nodes.slice(0, 5).map(function(n){"
                   " return n.html.slice(0, 200); })}; }); })")
        results[s["axe"]] = res
    elif "sleep" in s:
        drain(b, s["sleep"])
    elif "hold" in s:
        pats = s["hold"] if isinstance(s["hold"], list) else [{"url": s["hold"]}]
        b.send("Fetch.enable", patterns=[
            {"urlPattern": p["url"], "requestStage": p.get("stage", "Request")}
            for p in pats])
    elif "held" in s:
        deadline = time.time() + t

        def n_held():
            return sum(1 for e in b.events
                       if e["method"] == "Fetch.requestPaused"
                       and s["held"] in e["params"]["request"]["url"])
        while n_held() < s.get("count", 1):
            if time.time() > deadline:
                raise RuntimeError("held: %d request(s) for %r"
                                   % (n_held(), s["held"]))
            drain(b, 0.1)
    elif "release" in s:
        which = s["release"] if isinstance(s["release"], str) else ""

        def wanted(e):
            return (e["method"] == "Fetch.requestPaused"
                    and which in e["params"]["request"]["url"])
        need = s.get("count", 1)
        deadline = time.time() + t
        while sum(1 for e in b.events if wanted(e)) < need:
            if time.time() > deadline:
                raise RuntimeError("release: %d request(s) held for %r, not %d"
                                   % (sum(1 for e in b.events if wanted(e)),
                                      which, need))
            drain(b, 0.1)
        held = [e for e in b.events if wanted(e)]
        if s.get("newest"):
            held = held[-1:]
        b.events = [e for e in b.events if not any(e is x for x in held)]
        for e in held:
            b.send("Fetch.continueRequest", requestId=e["params"]["requestId"])
        if not which and not s.get("newest"):
            b.send("Fetch.disable")
    else:
        raise RuntimeError("unknown step %s" % json.dumps(s))


def main():
    cfg = json.load(sys.stdin)
    chromium = cfg.get("chromium") or wc.find_chromium()
    if wc.websocket is None or not chromium:
        print("python3-websocket or chromium missing", file=sys.stderr)
        return 2
    try:
        axe = verified_axe(cfg.get("axe_dir", AXE_DIR))
    except (OSError, ValueError, RuntimeError) as e:
        print("vendored axe-core: %s" % e, file=sys.stderr)
        return 2
    out = {"ok": False, "results": {}, "dialogs": [], "exceptions": []}
    b = None
    try:
        b = wc.Browser(chromium, timeout=30)
    except Exception as e:
        print("%s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 2
    i = -1
    try:
        b.send("Page.enable")
        b.send("Runtime.enable")
        lang = cfg.get("lang", "en")
        # Accept-Language and navigator.languages alike
        ua = b.js("navigator.userAgent").replace("HeadlessChrome", "Chrome")
        b.send("Emulation.setUserAgentOverride", userAgent=ua,
               acceptLanguage=lang)
        set_size(b, cfg.get("width", 390), cfg.get("height", 844))
        b.send("Network.enable")
        for c in cfg.get("cookies", []):
            pair, _, path = c.partition(";")
            name, _, value = pair.partition("=")
            b.send("Network.setCookie", name=name, value=value,
                   url=cfg["base"] + (path or "/"), path=path or "/",
                   httpOnly=True, sameSite="Strict")
        for i, s in enumerate(cfg["steps"]):
            run_step(b, s, cfg, out["results"], axe)
        out["ok"] = True
    except Exception as e:
        out["step"] = i
        out["error"] = "%s: %s" % (type(e).__name__, e)
        try:
            out["results"]["html_at_failure"] = b.js(
                "document.body ? document.body.innerText.slice(0, 2000) : ''")
        except Exception:
            pass
    finally:
        for e in b.events:
            p = e.get("params", {})
            if e["method"] == "Page.javascriptDialogOpening":
                out["dialogs"].append(p.get("message"))
            elif e["method"] == "Runtime.exceptionThrown":
                out["exceptions"].append(
                    p.get("exceptionDetails", {}).get("text"))
        b.close()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
