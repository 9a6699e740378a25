#!/usr/bin/python3
"""Kafka behaviour an application meets, checked with python3-confluent-kafka
(Debian's, librdkafka 2.0.2) against a running mosaicd.

Usage: conformance_check.py CHECK HOST:PORT
  commits     offsets for a topic or partition that does not exist are refused
              per partition (UNKNOWN_TOPIC_OR_PARTITION); offsets of real ones
              are kept (AlterConsumerGroupOffsets, the same request from an
              admin client, is checked in tests/unit/kafka/group_api_test.cc:
              this client has no call for it)
  configs     CreateTopics and AlterConfigs take the topic configs Kafka
              defines, DescribeConfigs shows them; a made-up name is refused
  transactions init_transactions() fails at once with a final error
  broker      AlterConfigs on a BROKER sets a dynamic default, DescribeConfigs
              shows it with its source; a start-up-only key is refused
Prints "CHECK: ok" and exits 0 when Mosaic behaved as Kafka does."""
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic


def fail(why):
    print("FAILED: " + why)
    sys.exit(1)


def create(admin, name, partitions=1, config=None):
    futures = admin.create_topics([NewTopic(name, partitions, 1, config=config or {})])
    futures[name].result(15)


def error_of(exc):
    err = exc.args[0] if exc.args else None
    return err if isinstance(err, KafkaError) else None


def check_commits(bootstrap):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    create(admin, "kept", 1)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "simple", "enable.auto.commit": False})
    offsets = [TopicPartition("kept", 0, 3), TopicPartition("no-such-topic", 0, 5), TopicPartition("kept", 7, 1)]
    # The client raises the first partition error; the broker's answer is
    # per partition, so the offset of the partition that exists is kept.
    try:
        c.commit(offsets=offsets, asynchronous=False)
        fail("offsets for a topic that does not exist were committed")
    except KafkaException as e:
        err = error_of(e)
        if err is None or err.code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
            fail("the commit answered %s, not UNKNOWN_TOPIC_OR_PARTITION" % e)
    for tp in (TopicPartition("no-such-topic", 0, 5), TopicPartition("kept", 7, 1)):
        try:
            c.commit(offsets=[tp], asynchronous=False)
            fail("%s[%d] was committed" % (tp.topic, tp.partition))
        except KafkaException as e:
            err = error_of(e)
            if err is None or err.code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                fail("%s[%d] answered %s, not UNKNOWN_TOPIC_OR_PARTITION" % (tp.topic, tp.partition, e))
    committed = {(tp.topic, tp.partition): tp.offset
                 for tp in c.committed([TopicPartition("kept", 0), TopicPartition("no-such-topic", 0)], 10)}
    if committed[("kept", 0)] != 3 or committed[("no-such-topic", 0)] >= 0:
        fail("committed offsets: %s" % committed)
    c.close()


KAFKA_CONFIGS = {
    "delete.retention.ms": "3600000",
    "min.compaction.lag.ms": "1000",
    "max.compaction.lag.ms": "86400000",
    "segment.jitter.ms": "0",
    "message.timestamp.after.max.ms": "3600000",
    "message.timestamp.before.max.ms": "86400000",
    "min.cleanable.dirty.ratio": "0.3",
    "file.delete.delay.ms": "60000",
    "preallocate": "false",
    "segment.index.bytes": "10485760",
    "compression.gzip.level": "5",
    "follower.replication.throttled.replicas": "*",
}


def check_configs(bootstrap):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    create(admin, "configured", 1, KAFKA_CONFIGS)
    res = ConfigResource(ConfigResource.Type.TOPIC, "configured")
    described = admin.describe_configs([res])[res].result(15)
    for k, v in KAFKA_CONFIGS.items():
        if k not in described or described[k].value != v:
            fail("%s: described as %s, set to %s" % (k, described.get(k) and described[k].value, v))
    # Not set: Kafka's default, described all the same.
    if described["local.retention.ms"].value != "-2":
        fail("local.retention.ms default: %s" % described["local.retention.ms"].value)
    # AlterConfigs takes them too.
    altered = ConfigResource(ConfigResource.Type.TOPIC, "configured", set_config={"segment.jitter.ms": "500"})
    admin.alter_configs([altered])[altered].result(15)
    described = admin.describe_configs([res])[res].result(15)
    if described["segment.jitter.ms"].value != "500":
        fail("segment.jitter.ms after AlterConfigs: %s" % described["segment.jitter.ms"].value)
    # A name Kafka does not define.
    try:
        create(admin, "misconfigured", 1, {"no.such.config": "1"})
        fail("a topic config Kafka does not define was accepted")
    except KafkaException as e:
        err = error_of(e)
        if err is None or err.code() != KafkaError.INVALID_CONFIG or "Unknown topic config name" not in err.str():
            fail("an unknown topic config: %s" % e)


def check_transactions(bootstrap):
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": "tx-1"})
    start = time.monotonic()
    try:
        p.init_transactions(30)
        fail("init_transactions() succeeded")
    except KafkaException as e:
        elapsed = time.monotonic() - start
        err = error_of(e)
        if elapsed > 10:
            fail("init_transactions() took %.1f s to fail: %s" % (elapsed, e))
        if err is None or err.retriable():
            fail("init_transactions() failed with a retriable error: %s" % e)
        print("init_transactions() failed after %.2f s: %s" % (elapsed, err.str()))


def check_broker(bootstrap):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    node = str(admin.list_topics(timeout=10).orig_broker_id)
    res = ConfigResource(ConfigResource.Type.BROKER, node, set_config={"log.retention.ms": "3600000"})
    admin.alter_configs([res])[res].result(15)
    described = admin.describe_configs([ConfigResource(ConfigResource.Type.BROKER, node)])
    entries = list(described.values())[0].result(15)
    entry = entries["log.retention.ms"]
    if entry.value != "3600000" or entry.source != 2:  # DYNAMIC_BROKER_CONFIG
        fail("log.retention.ms described as %s (source %s)" % (entry.value, entry.source))
    create(admin, "under-default", 1)
    res = ConfigResource(ConfigResource.Type.TOPIC, "under-default")
    topic = admin.describe_configs([res])[res].result(15)
    if topic["retention.ms"].value != "3600000":
        fail("a new topic's retention.ms is %s, not the dynamic default" % topic["retention.ms"].value)
    fixed = ConfigResource(ConfigResource.Type.BROKER, node, set_config={"num.partitions": "4"})
    try:
        admin.alter_configs([fixed])[fixed].result(15)
        fail("num.partitions was changed at run time")
    except KafkaException as e:
        err = error_of(e)
        if err is None or err.code() != KafkaError.INVALID_CONFIG:
            fail("num.partitions: %s" % e)


CHECKS = {"commits": check_commits, "configs": check_configs, "transactions": check_transactions,
          "broker": check_broker}

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in CHECKS:
        print(__doc__)
        sys.exit(2)
    CHECKS[sys.argv[1]](sys.argv[2])
    print(sys.argv[1] + ": ok")
