#!/usr/bin/python3
# Drives the web console in headless Chromium over the DevTools protocol,
# spoken on a pipe (--remote-debugging-pipe: JSON messages ended by a NUL on
# file descriptors 3 and 4), with nothing but the standard library:
# navigates the console's pages, types into the topic filter, follows links,
# and saves screenshots. Prints "ok <check>" or "FAIL <check>: <why>" per
# check; exits 1 if any failed (tests/integration/http_test.cc).
#
#   console_check.py <base_url> <topic> <group> <topic_count> <screenshot_dir>
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

base, topic, group, topic_count, shots = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
os.makedirs(shots, exist_ok=True)
failed = 0


def check(name, ok, why=""):
    global failed
    print(("ok " if ok else "FAIL ") + name + ("" if ok else ": " + why), flush=True)
    failed += 0 if ok else 1


# The browser reads our commands from its fd 3 and writes to its fd 4.
to_browser_r, to_browser_w = os.pipe()
from_browser_r, from_browser_w = os.pipe()
high = [os.dup(fd) for fd in (to_browser_r, to_browser_w, from_browser_r, from_browser_w)]
for fd in (to_browser_r, to_browser_w, from_browser_r, from_browser_w):
    os.close(fd)
to_browser_r, to_browser_w, from_browser_r, from_browser_w = high
os.dup2(to_browser_r, 3)
os.dup2(from_browser_w, 4)
profile = tempfile.mkdtemp(prefix="mosaic_chromium_")
browser = subprocess.Popen(
    ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
     "--remote-debugging-pipe", "--user-data-dir=" + profile, "--window-size=1280,900", "about:blank"],
    pass_fds=(3, 4), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
os.close(3)
os.close(4)
os.close(to_browser_r)
os.close(from_browser_w)

next_id = 0
pending = b""


def send(method, params=None, session=None):
    global next_id, pending
    next_id += 1
    msg = {"id": next_id, "method": method, "params": params or {}}
    if session:
        msg["sessionId"] = session
    os.write(to_browser_w, json.dumps(msg).encode() + b"\0")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        while b"\0" in pending:
            raw, pending = pending.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == next_id:
                if "error" in reply:
                    raise RuntimeError(method + ": " + reply["error"].get("message", ""))
                return reply.get("result", {})
        chunk = os.read(from_browser_r, 1 << 16)
        if not chunk:
            raise RuntimeError("the browser went away")
        pending += chunk
    raise RuntimeError(method + ": no answer in 30 s")


def evaluate(expression):
    r = send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, page)
    return r.get("result", {}).get("value")


def wait_for(name, predicate, seconds=15):
    deadline = time.monotonic() + seconds
    text = ""
    while time.monotonic() < deadline:
        text = evaluate("document.querySelector('main') ? document.querySelector('main').innerText : ''") or ""
        if predicate(text):
            return text
        time.sleep(0.2)
    check(name, False, "the page said: " + text[:600].replace("\n", " | "))
    return None


def screenshot(name):
    data = send("Page.captureScreenshot", {"format": "png"}, page)["data"]
    path = os.path.join(shots, name + ".png")
    with open(path, "wb") as f:
        f.write(base64.b64decode(data))
    check("screenshot " + path, os.path.getsize(path) > 10000, "too small to show anything")


try:
    target = send("Target.createTarget", {"url": "about:blank"})["targetId"]
    page = send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    send("Page.enable", {}, page)

    # Overview: the cluster, its quorum and broker.
    send("Page.navigate", {"url": base + "/console/"}, page)
    text = wait_for("overview", lambda t: "Quorum voters" in t and "serving" in t)
    if text:
        check("overview shows the quorum and a serving broker", True)
        screenshot("console-overview")

    # Topics: a page of 50 of the many, then the filter typed in.
    send("Page.navigate", {"url": base + "/console/#/topics"}, page)
    text = wait_for("topics", lambda t: "next page" in t)
    if text:
        rows = evaluate("document.querySelectorAll('main tbody tr').length")
        check("the topic list is paged (%s rows of %d topics)" % (rows, topic_count), rows == 50, str(rows))
    evaluate("document.getElementById('filter').focus()")
    send("Input.insertText", {"text": topic}, page)
    text = wait_for("the filter", lambda t: topic in t and evaluate(
        "document.querySelectorAll('main tbody tr').length") == 1)
    if text:
        check("typing in the filter leaves the one topic " + topic, True)
        screenshot("console-topics-filtered")
    evaluate("document.querySelector('main tbody a').click()")
    text = wait_for("topic page", lambda t: "Topic " + topic in t and "earliest" in t)
    if text:
        check("the topic's page shows its partitions", True)

    # The group: its lag in records and in time.
    send("Page.navigate", {"url": base + "/console/#/groups"}, page)
    if wait_for("groups", lambda t: group in t):
        evaluate("[...document.querySelectorAll('main a')].find(a => a.textContent === %s).click()" % json.dumps(group))
        text = wait_for("group page", lambda t: "Consumer group " + group in t and "lag (time)" in t)
        if text:
            lag = evaluate("document.getElementById('group-lag').textContent")
            lag_time = evaluate("document.getElementById('group-lag-time').textContent")
            check("the group's lag is shown (%s records, %s)" % (lag, lag_time),
                  lag not in (None, "-", "0") and lag_time not in (None, "-"), "%s / %s" % (lag, lag_time))
            screenshot("console-group")

    # Plugins: each slot and the listeners' adapters.
    send("Page.navigate", {"url": base + "/console/#/plugins"}, page)
    text = wait_for("plugins", lambda t: "mosaic.protocol.http" in t and "group.share.policy" in t)
    if text:
        check("the plugins page lists the slots and the adapters", True)

    # Live: a new topic appears without a reload.
    send("Page.navigate", {"url": base + "/console/#/topics?filter=appears-later"}, page)
    wait_for("empty filter", lambda t: "none" in t)
    import urllib.request
    urllib.request.urlopen(urllib.request.Request(
        base + "/v1/topics", data=json.dumps({"name": "appears-later"}).encode(),
        headers={"Content-Type": "application/json"}, method="POST"), timeout=10).read()
    if wait_for("live refresh", lambda t: "appears-later" in t, seconds=8):
        check("the page refreshes by itself", True)
    send("Browser.close")
except Exception as e:  # noqa: BLE001 (any failure is the check's)
    check("the browser session", False, str(e))
finally:
    try:
        browser.wait(timeout=10)
    except subprocess.TimeoutExpired:
        browser.kill()
    shutil.rmtree(profile, ignore_errors=True)
sys.exit(1 if failed else 0)
