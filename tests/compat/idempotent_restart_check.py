"""The seed's producer (enable.idempotence=true, acks=all) keeps producing
while mosaicd is killed with SIGKILL and started again; afterwards every
record is in the topic exactly once, in order per key.

Usage: /usr/bin/python3 idempotent_restart_check.py HOST:PORT TOPIC COUNT READY_FILE GO_FILE
It writes READY_FILE when half the records are acknowledged and waits for
GO_FILE (the test kills and restarts mosaicd in between), then produces the
rest, flushes, consumes the topic and checks it. Prints
"idempotent: ok N records" on success.
"""
import os
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, topic, count, ready, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
keys = 8
acked = []
errors = []


def delivered(err, msg):
    if err is not None:
        errors.append(str(err))
    else:
        acked.append(msg.offset())


admin = AdminClient({"bootstrap.servers": bootstrap})
for f in admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)]).values():
    f.result(timeout=15)

producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                     "linger.ms": 2, "batch.num.messages": 50, "message.timeout.ms": 60000,
                     "retry.backoff.ms": 100, "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 500})
for i in range(count):
    key = "key-%d" % (i % keys)
    while True:
        try:
            producer.produce(topic, key=key.encode(), value=("%s:%d" % (key, i // keys)).encode(),
                             partition=i % 2, on_delivery=delivered)
            break
        except BufferError:
            producer.poll(0.05)
    producer.poll(0)
    if i == count // 2:
        # Half in flight or acknowledged: the broker is killed here.
        producer.flush(30)
        with open(ready, "w") as f:
            f.write("ready\n")
    if i > count // 2 and i % 500 == 0 and not os.path.exists(go):
        # Keep producing into the outage for a while, then wait for the restart.
        deadline = time.time() + 30
        while not os.path.exists(go) and time.time() < deadline:
            producer.poll(0.05)
left = producer.flush(60)
if left or errors:
    print("FAIL: %d unflushed, errors: %s" % (left, errors[:5]))
    sys.exit(1)

consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "idem-check", "enable.auto.commit": False})
consumer.assign([TopicPartition(topic, p, 0) for p in range(2)])
seen = {}
total = 0
deadline = time.time() + 30
while total < count and time.time() < deadline:
    m = consumer.poll(0.5)
    if m is None or m.error():
        continue
    total += 1
    key, n = m.value().decode().split(":")
    seen.setdefault(key, []).append(int(n))
# Anything more (a duplicate) would show up within a short extra wait.
end = time.time() + 2
while time.time() < end:
    m = consumer.poll(0.2)
    if m is not None and not m.error():
        total += 1
        key, n = m.value().decode().split(":")
        seen.setdefault(key, []).append(int(n))
consumer.close()
expected = {"key-%d" % k: list(range(len(range(k, count, keys)))) for k in range(keys)}
if total != count or seen != expected:
    bad = [k for k in expected if seen.get(k) != expected[k]]
    print("FAIL: %d records consumed for %d produced; keys out of order or duplicated: %s" % (total, count, bad))
    for k in bad[:2]:
        got = seen.get(k, [])
        print("  %s: %d records, first differences at %s" % (
            k, len(got), [i for i, (a, b) in enumerate(zip(got, expected[k])) if a != b][:5]))
    sys.exit(1)
print("idempotent: ok %d records" % total)
