"""python3-confluent-kafka (librdkafka) with SASL OAUTHBEARER against a
running mosaicd: the token comes from oauth_cb, as an application's
identity provider client would give it.

Usage: /usr/bin/python3 oauthbearer_check.py HOST:PORT TOPIC TOKEN [expect-refusal]
Produces three records and reads them back with the token; with
expect-refusal, checks that the broker refuses the token instead.
Prints "oauthbearer: ok" and exits 0 when the checks pass.
"""
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer

bootstrap, topic, token = sys.argv[1], sys.argv[2], sys.argv[3]
refusal = len(sys.argv) > 4 and sys.argv[4] == "expect-refusal"
errors = []


def oauth_cb(_config):
    # The token, and when it expires (seconds since the epoch).
    return token, time.time() + 600


def describe(err):
    # KafkaError's name, and its text where it has one.
    if err is None:
        return None
    try:
        return "%s: %s" % (err.name(), err.str())
    except Exception:  # some errors carry no text
        return err.name()


def on_error(err):
    errors.append(describe(err))


common = {
    "bootstrap.servers": bootstrap,
    "security.protocol": "SASL_PLAINTEXT",
    "sasl.mechanisms": "OAUTHBEARER",
    "oauth_cb": oauth_cb,
    "error_cb": on_error,
}

producer = Producer(dict(common, **{"message.timeout.ms": 3000 if refusal else 8000}))
delivered = []
for i in range(3):
    producer.produce(topic, value=b"oauth-%d" % i, on_delivery=lambda err, msg: delivered.append(err))
producer.flush(15)

if refusal:
    failed = [e for e in delivered if e is not None]
    auth = [e for e in errors if e and "UTHENTICATION" in e.upper()]
    if len(failed) == 3 and auth:
        print("oauthbearer: ok (refused:", auth[0], ")")
        sys.exit(0)
    print("FAIL: expected a refusal; deliveries", [describe(e) for e in delivered], "errors", errors)
    sys.exit(1)

# (KafkaError compared with None leaves a TypeError pending in this
# version of the module: compare by identity.)
if len(delivered) != 3 or any(e is not None for e in delivered):
    print("FAIL: deliveries", [describe(e) for e in delivered], "errors", errors)
    sys.exit(1)
consumer = Consumer(dict(common, **{"group.id": "oauth-readers", "auto.offset.reset": "earliest"}))
consumer.subscribe([topic])
got = []
deadline = time.time() + 30
while len(got) < 3 and time.time() < deadline:
    m = consumer.poll(1.0)
    if m is not None and m.error() is None:
        got.append(m.value())
consumer.close()
if sorted(got) != [b"oauth-0", b"oauth-1", b"oauth-2"]:
    print("FAIL: read", got, "errors", errors)
    sys.exit(1)
print("oauthbearer: ok")
