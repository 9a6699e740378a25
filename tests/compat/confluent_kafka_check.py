"""python3-confluent-kafka (librdkafka) against a running mosaicd.

Usage: /usr/bin/python3 confluent_kafka_check.py HOST:PORT
Exits 0 and prints "confluent-kafka: ok" when every check passes; otherwise
prints what differed and exits 1.
"""
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

bootstrap = sys.argv[1]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


def wait(futures):
    return {k: f.result(timeout=15) for k, f in futures.items()}


admin = AdminClient({"bootstrap.servers": bootstrap})

# Admin: create (with a config), describe, alter, refuse a duplicate.
wait(admin.create_topics([NewTopic("py-orders", num_partitions=3, replication_factor=1,
                                   config={"retention.ms": "3600000"})]))
try:
    wait(admin.create_topics([NewTopic("py-orders", num_partitions=1, replication_factor=1)]))
    check(False, "a second create of py-orders succeeded")
except KafkaException as e:
    check(e.args[0].name() == "TOPIC_ALREADY_EXISTS", "duplicate create gave " + str(e))
resource = ConfigResource("topic", "py-orders")
configs = wait(admin.describe_configs([resource]))[resource]
check(configs["retention.ms"].value == "3600000", "retention.ms described as " + configs["retention.ms"].value)
check(configs["cleanup.policy"].value == "delete", "cleanup.policy described as " + configs["cleanup.policy"].value)
wait(admin.alter_configs([ConfigResource("topic", "py-orders", set_config={"retention.ms": "7200000"})]))
configs = wait(admin.describe_configs([resource]))[resource]
check(configs["retention.ms"].value == "7200000", "retention.ms after alter is " + configs["retention.ms"].value)
wait(admin.create_partitions([NewPartitions("py-orders", 4)]))
metadata = admin.list_topics(timeout=10)
check(len(metadata.topics["py-orders"].partitions) == 4, "py-orders does not have 4 partitions")
check(len(metadata.brokers) == 1, "metadata lists %d brokers" % len(metadata.brokers))

# Producer: acks=all, keys, headers and timestamps, with every codec.
sent = []
errors = []


def delivered(err, msg):
    if err is not None:
        errors.append(err)


base_ts = int(time.time() * 1000) - 60000
for codec in ["none", "gzip", "snappy", "lz4", "zstd"]:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "compression.type": codec,
                         "linger.ms": 5, "enable.idempotence": False})
    for i in range(200):
        n = len(sent)
        key = ("key-%d" % (n % 7)).encode()
        value = ("%s-%d-" % (codec, n)).encode() + b"x" * (n % 50)
        headers = [("codec", codec.encode()), ("n", str(n).encode())]
        partition = n % 4
        producer.produce("py-orders", key=key, value=value, headers=headers, partition=partition,
                         timestamp=base_ts + n, on_delivery=delivered)
        sent.append((partition, key, value, headers, base_ts + n))
    check(producer.flush(15) == 0, codec + ": records left unflushed")
check(not errors, "delivery errors: %s" % errors)

# Consumer: everything back, in order per partition, intact.
consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "py-check", "enable.auto.commit": False})
consumer.assign([TopicPartition("py-orders", p, 0) for p in range(4)])
got = []
deadline = time.time() + 20
while len(got) < len(sent) and time.time() < deadline:
    m = consumer.poll(0.5)
    if m is None or m.error():
        continue
    got.append((m.partition(), m.offset(), m.key(), m.value(), m.headers(), m.timestamp()[1]))
check(len(got) == len(sent), "consumed %d of %d records" % (len(got), len(sent)))
for p in range(4):
    want = [s for s in sent if s[0] == p]
    have = [g for g in got if g[0] == p]
    check([g[1] for g in have] == list(range(len(have))), "partition %d offsets are not 0.." % p)
    for w, h in zip(want, have):
        if (w[1], w[2], w[3], w[4]) != (h[2], h[3], h[4], h[5]):
            check(False, "partition %d offset %d: sent %s, got %s" % (p, h[1], w, h))
            break
low, high = consumer.get_watermark_offsets(TopicPartition("py-orders", 0), timeout=10)
check((low, high) == (0, len([s for s in sent if s[0] == 0])), "watermarks %d..%d" % (low, high))
by_time = consumer.offsets_for_times([TopicPartition("py-orders", 1, base_ts + 101)], timeout=10)
# n = 101 is the 26th record of partition 1 (n % 4 == 1): offset 25.
check(by_time[0].offset == 25, "offset for timestamp is %d, not 25" % by_time[0].offset)
consumer.close()

# Admin: delete.
wait(admin.delete_topics(["py-orders"]))
check("py-orders" not in admin.list_topics(timeout=10).topics, "py-orders still listed after delete")

if failures:
    sys.exit(1)
print("confluent-kafka: ok", flush=True)
