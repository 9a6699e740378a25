#!/usr/bin/python3
# An HTTP queue worker (tests/integration/http_test.cc): receives records of
# a share group over the HTTP adapter, accepts each, and prints
# "accepted <value>" for every acceptance the broker confirmed. Stops once
# nothing has come for <idle_s> seconds after the first record.
#
#   http_queue_worker.py <base_url> <group> <topic> <idle_s>
import json
import sys
import time
import urllib.request

base, group, topic, idle = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])


def post(path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


last = time.monotonic()
started = False
while True:
    got = post(f"/v1/queues/{group}/receive", {"topic": topic, "max_records": 7, "wait_ms": 500})
    records = got["records"]
    if records:
        started = True
        last = time.monotonic()
        done = post(f"/v1/queues/{group}/acknowledge",
                    {"acks": [{"receipt": r["receipt"], "type": "accept"} for r in records]})
        for r, result in zip(records, done["results"]):
            if result.get("acknowledged"):
                print("accepted", r["value"], flush=True)
            else:
                print("refused", r["value"], result.get("error"), flush=True)
    elif time.monotonic() - last > (idle if started else 30):
        break
