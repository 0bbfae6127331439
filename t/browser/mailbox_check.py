#!/usr/bin/python3
"""Reveal a mailbox message in headless Chromium as a phone would, and check
that the browser keeps nothing of it.

Uses the CDP driver of watermark_check.py (Debian chromium and
python3-websocket, no npm).

    python3 t/browser/mailbox_check.py CONFIRM_URL --cookie 'NAME=VALUE;/' \
        --expect-name 'Reader' --body-marker 'ONCE-BODY-123' \
        [--away URL] [--screenshot out.png]

CONFIRM_URL is the message's confirmation step (<handler>/mailbox/<id>).

Checks (one "ok - ..." / "not ok - ..." line each, TAP style):
  * the confirmation step (GET) does not show the body and has a Reveal
    button;
  * a real tap on Reveal (a POST) shows the body, with the watermark
    overlay displayed over the whole viewport and naming the viewer;
  * the revealed page's response said Cache-Control: no-store and
    Pragma: no-cache;
  * after navigating away (--away, default the mailbox list) and going
    back, the body is not shown: not from the back/forward cache, not from
    the HTTP cache;
  * reloading there asks the server again (the form is resubmitted), which
    answers that the message was already read, without the body;
  * with --wipe-cmd (the lost phone): the site's localStorage survives a
    request with the live session; after the command ends the session,
    the next request lands on the login page with Clear-Site-Data and the
    storage is gone.

Exits 1 if a check failed, 2 if the browser could not be driven.
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import watermark_check as wc  # noqa: E402
from page_probe import drain  # noqa: E402


def fresh(b):
    """Forget the load events seen so far: called before an action that
    loads a page, so that wait_loaded waits for that page's load, never
    takes one left over from an earlier page (a late one)."""
    drain(b, 0.2)
    b.events = [e for e in b.events if e["method"] != "Page.loadEventFired"]


def wait_loaded(b, timeout):
    """Wait for the next main-frame load (a page or an error page)."""
    b.wait_event("Page.loadEventFired", timeout=timeout)
    drain(b, 0.5)


def text_of(b):
    try:
        return b.js("document.documentElement ? "
                    "document.documentElement.innerText : ''") or ""
    except Exception as e:
        return "<%s>" % e


def doc_responses(b, since):
    """(method, url, status, headers) of document responses after index
    since of b.events."""
    sent, out = {}, []
    for e in b.events[since:]:
        p = e.get("params", {})
        if e["method"] == "Network.requestWillBeSent" \
                and p.get("type") == "Document":
            sent[p["requestId"]] = p["request"]["method"]
        elif e["method"] == "Network.responseReceived" \
                and p.get("type") == "Document":
            r = p["response"]
            out.append((sent.get(p["requestId"], "?"), r["url"],
                        r["status"], {k.lower(): v for k, v in
                                      r.get("headers", {}).items()}))
    return out


def tap(b, selector):
    pos = b.js("""(function () {
      var e = document.querySelector(%s);
      if (!e) return null;
      e.scrollIntoView({block: 'center'});
      var r = e.getBoundingClientRect();
      return {x: r.left + r.width / 2, y: r.top + r.height / 2};
    })()""" % json.dumps(selector))
    if not pos:
        return False
    b.send("Input.dispatchTouchEvent", type="touchStart",
           touchPoints=[{"x": pos["x"], "y": pos["y"]}])
    b.send("Input.dispatchTouchEvent", type="touchEnd", touchPoints=[])
    return True


def lost_phone(b, args, c, away):
    """The site's storage survives a request with a live session, and is
    gone after the first request made once the session was ended (the
    mailbox wiped): Clear-Site-Data "storage" on that answer."""
    b.js("localStorage.setItem('qw-probe', 'kept')")
    fresh(b)
    b.send("Page.navigate", url=away)
    wait_loaded(b, args.timeout)
    c.ok(b.js("localStorage.getItem('qw-probe')") == "kept",
         "lost phone: the site's storage survives a live session's request")
    rc = subprocess.call(json.loads(args.wipe_cmd),
                         stdout=subprocess.DEVNULL)
    if not c.ok(rc == 0, "lost phone: the mailbox was wiped", rc):
        return
    fresh(b)
    mark = len(b.events)
    b.send("Page.navigate", url=away)
    wait_loaded(b, args.timeout)
    href = b.js("location.pathname")
    c.ok("/login" in href, "lost phone: the next request lands on the "
         "login page", href)
    csd = [x for x in redirects_and_documents(b, mark)
           if "clear-site-data" in x[1]]
    c.ok(csd, "lost phone: an answer carried Clear-Site-Data",
         redirects_and_documents(b, mark))
    c.ok(b.js("localStorage.getItem('qw-probe')") is None,
         "lost phone: the site's storage is gone")


def redirects_and_documents(b, since):
    """(status, lower-cased headers) of the redirects and document
    responses after index since of b.events."""
    out = []
    for e in b.events[since:]:
        p = e.get("params", {})
        if e["method"] == "Network.requestWillBeSent" \
                and p.get("redirectResponse"):
            r = p["redirectResponse"]
        elif e["method"] == "Network.responseReceived" \
                and p.get("type") == "Document":
            r = p["response"]
        elif e["method"] == "Network.responseReceivedExtraInfo":
            # the raw headers as they came over the wire (Chromium leaves
            # some, Clear-Site-Data among them, out of the others)
            r = {"status": p.get("statusCode"), "headers": p["headers"]}
        else:
            continue
        out.append((r["status"], {k.lower(): v for k, v in
                                  r.get("headers", {}).items()}))
    return out


def run(args, c):
    b = wc.Browser(args.chromium, timeout=args.timeout)
    try:
        b.send("Page.enable")
        b.send("Network.enable")
        b.send("Emulation.setDeviceMetricsOverride", width=390, height=844,
               deviceScaleFactor=2, mobile=True, screenWidth=390,
               screenHeight=844)
        b.send("Emulation.setTouchEmulationEnabled", enabled=True,
               maxTouchPoints=5)
        b.send("Emulation.setUserAgentOverride", userAgent=wc.MOBILE_UA,
               platform="Android")
        u = urllib.parse.urlsplit(args.url)
        origin = "%s://%s" % (u.scheme, u.netloc)
        for ck in args.cookie:
            pair, _, path = ck.partition(";")
            name, _, value = pair.partition("=")
            b.send("Network.setCookie", name=name, value=value,
                   url=origin + (path or "/"), path=path or "/",
                   httpOnly=True)
        away = args.away or args.url.rsplit("/", 1)[0]

        # --- the confirmation step --------------------------------------------
        b.send("Page.navigate", url=args.url)
        wait_loaded(b, args.timeout)
        t = text_of(b)
        c.ok(args.body_marker not in t, "confirmation step: no body", t[:300])
        c.ok(b.js("!!document.getElementById('reveal')"),
             "confirmation step: a Reveal button")

        # --- reveal: a tap on the button (a POST) ------------------------------
        fresh(b)
        mark = len(b.events)
        if not c.ok(tap(b, "#reveal"), "tapped Reveal"):
            return
        wait_loaded(b, args.timeout)
        t = text_of(b)
        c.ok(args.body_marker in t, "revealed: the body is shown", t[:300])
        resp = [x for x in doc_responses(b, mark) if x[0] == "POST"]
        if c.ok(len(resp) == 1 and resp[0][2] == 200,
                "revealed: one POST answered 200", resp):
            h = resp[0][3]
            c.ok("no-store" in h.get("cache-control", ""),
                 "revealed: Cache-Control no-store", h)
            c.ok(h.get("pragma", "") == "no-cache",
                 "revealed: Pragma no-cache", h)
        o = b.js(wc.OVERLAY_JS)
        wc.check_overlay(c, o, "revealed", args.expect_name)
        if args.screenshot:
            shot = base64.b64decode(b.send("Page.captureScreenshot",
                                           format="png")["data"])
            os.makedirs(os.path.dirname(os.path.abspath(args.screenshot)),
                        exist_ok=True)
            with open(args.screenshot, "wb") as f:
                f.write(shot)
            print("# screenshot: %s" % args.screenshot)

        # --- away and back -------------------------------------------------------
        fresh(b)
        b.send("Page.navigate", url=away)
        wait_loaded(b, args.timeout)
        c.ok(args.body_marker not in text_of(b), "away: no body")
        hist = b.send("Page.getNavigationHistory")
        idx = hist["currentIndex"]
        fresh(b)
        mark = len(b.events)
        b.send("Page.navigateToHistoryEntry",
               entryId=hist["entries"][idx - 1]["id"])
        try:
            wait_loaded(b, args.timeout)
        except Exception:   # no load event (a restore) or a quiet socket
            drain(b, 2)
        drain(b, 1)
        t = text_of(b)
        c.ok(args.body_marker not in t, "back: the body is not shown",
             t[:300])
        restored = [e for e in b.events[mark:]
                    if e["method"] == "Page.frameNavigated"
                    and e["params"].get("type") == "BackForwardCacheRestore"]
        c.ok(not restored, "back: not restored from the back/forward cache")
        why = [e["params"].get("notRestoredExplanations")
               for e in b.events[mark:]
               if e["method"] == "Page.backForwardCacheNotUsed"]
        print("# back/forward cache not used: %s" % json.dumps(why)[:600])
        print("# back shows: %s" % json.dumps(t[:200]))
        print("# back documents: %s" % json.dumps(
            [x[:3] for x in doc_responses(b, mark)]))

        # --- reload there: the server answers, without the body ----------------
        fresh(b)
        mark = len(b.events)
        b.send("Page.reload", ignoreCache=True)
        try:
            wait_loaded(b, args.timeout)
        except Exception:
            drain(b, 2)
        t = text_of(b)
        c.ok(args.body_marker not in t, "reload: the body is not shown",
             t[:300])
        resp = doc_responses(b, mark)
        print("# reload documents: %s" % json.dumps([x[:3] for x in resp]))
        c.ok(any(x[2] == args.gone_status for x in resp),
             "reload: the server was asked and answered %d"
             % args.gone_status, resp)
        c.ok(args.gone_text in t, "reload: the page says %r"
             % args.gone_text, t[:300])

        if args.wipe_cmd:
            lost_phone(b, args, c, away)
    finally:
        b.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("url")
    ap.add_argument("--cookie", action="append", default=[],
                    help="NAME=VALUE;PATH")
    ap.add_argument("--expect-name", required=True)
    ap.add_argument("--body-marker", required=True)
    ap.add_argument("--away")
    ap.add_argument("--gone-status", type=int, default=410)
    ap.add_argument("--gone-text", default="Already read")
    ap.add_argument("--wipe-cmd", help="a JSON array: the command that "
                    "wipes the mailbox (ends the sessions) for the lost "
                    "phone check")
    ap.add_argument("--screenshot")
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--chromium", default=wc.find_chromium())
    args = ap.parse_args()

    c = wc.Checker()
    if not c.ok(wc.websocket is not None, "python3-websocket is installed"):
        return 2
    if not c.ok(args.chromium is not None, "chromium is installed"):
        return 2
    try:
        run(args, c)
    except Exception as e:
        c.ok(False, "driving chromium", "%s: %s" % (type(e).__name__, e))
        return 2
    print("# %d checks, %d failed" % (c.n, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
