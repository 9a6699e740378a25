"""python3-confluent-kafka (librdkafka) on a secured listener of a running
mosaicd: produces COUNT numbered records with acks=all to TOPIC, then a
consumer group reads them back in order, every connection made with the
librdkafka properties given as KEY=VALUE (security.protocol, ssl.*,
sasl.*).

Usage: /usr/bin/python3 secure_clients_check.py HOST:PORT TOPIC COUNT [KEY=VALUE...] [expect-refusal]
With expect-refusal, checks instead that the broker refuses the client
(an authentication or TLS failure) and that nothing was delivered.
Prints "secure: ok N" (or "secure: refused: WHY") and exits 0 when the
check passes.
"""
import sys
import time

from confluent_kafka import Consumer, KafkaError, Producer

bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
rest = sys.argv[4:]
refusal = "expect-refusal" in rest
settings = dict(arg.split("=", 1) for arg in rest if arg != "expect-refusal")
common = dict(settings, **{"bootstrap.servers": bootstrap})
errors = []


def on_error(err):
    errors.append("%s: %s" % (err.name(), err.str()))


def refused():
    return any(e.startswith(("_AUTHENTICATION", "_SSL", "_ALL_BROKERS_DOWN", "_TRANSPORT")) for e in errors)


producer = Producer(dict(common, **{"acks": "all", "linger.ms": 5, "error_cb": on_error,
                                    "message.timeout.ms": 8000 if refusal else 30000}))
failed = []
delivered = [0]


def on_delivery(err, _msg):
    if err:
        failed.append(err.name())
    else:
        delivered[0] += 1


for i in range(count):
    producer.produce(topic, value=b"secure-%06d" % i, key=b"k%d" % (i % 7), on_delivery=on_delivery)
    producer.poll(0)
left = producer.flush(40)

if refusal:
    if delivered[0] == 0 and refused():
        print("secure: refused: %s" % errors[0])
        sys.exit(0)
    print("secure: not refused: delivered %d, errors %s" % (delivered[0], errors[:3]))
    sys.exit(1)

if left or failed or delivered[0] != count:
    print("secure: produce: delivered %d of %d, failed %s, errors %s" % (delivered[0], count, failed[:3], errors[:3]))
    sys.exit(1)

consumer = Consumer(dict(common, **{"group.id": "secure-py-" + topic, "auto.offset.reset": "earliest",
                                    "enable.auto.commit": False, "error_cb": on_error}))
consumer.subscribe([topic])
seen = []
deadline = time.time() + 60
while len(seen) < count and time.time() < deadline:
    m = consumer.poll(0.5)
    if m is None:
        continue
    if m.error():
        if m.error().code() != KafkaError._PARTITION_EOF:
            errors.append(m.error().name())
        continue
    seen.append(m.value())
consumer.commit(asynchronous=False)
consumer.close()
expected = [b"secure-%06d" % i for i in range(count)]
if seen != expected:
    print("secure: consumed %d of %d (in order: %s), errors %s" % (len(seen), count, seen == expected[:len(seen)],
                                                                   errors[:3]))
    sys.exit(1)
print("secure: ok %d" % count)
