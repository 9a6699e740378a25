#!/usr/bin/python3
"""The fault suite's Python clients (tools/chaos), on python3-confluent-kafka.

  chaos_clients.py produce BOOTSTRAP TOPIC NAME RATE STOP_FILE OUT_FILE
      as chaos_producer.c: acks=all, idempotent, values NAME-0, NAME-1, ...;
      "ok P O VALUE" / "fail VALUE ERROR" per delivery report, "sent N" last.

  chaos_clients.py group BOOTSTRAP TOPIC GROUP STOP_FILE OUT_FILE
      a consumer group member that reads the topic and commits its position
      every second; each time, it also asks the group's committed offsets
      back (OffsetFetch) and writes "committed P O" for each partition, so
      the suite can check that they never go back.

  chaos_clients.py read BOOTSTRAP TOPIC OUT_FILE
      reads every partition from its start to its high watermark and writes
      "P O VALUE" per record.
"""
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition


def produce(bootstrap, topic, name, rate, stop_file, out_file):
    import os
    out = open(out_file, "w")

    def report(err, msg):
        if err is not None:
            out.write("fail %s %s\n" % (msg.value().decode(), err.name()))
        else:
            out.write("ok %d %d %s\n" % (msg.partition(), msg.offset(), msg.value().decode()))
        out.flush()

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                  "linger.ms": 5, "message.timeout.ms": 120000})
    sent = 0
    start = time.monotonic()
    while not os.path.exists(stop_file):
        if sent < int((time.monotonic() - start) * float(rate)):
            try:
                p.produce(topic, value=("%s-%d" % (name, sent)).encode(), on_delivery=report)
                sent += 1
                continue
            except BufferError:
                pass
        p.poll(0.005)
    p.flush(150)
    out.write("sent %d\n" % sent)
    out.close()


def group(bootstrap, topic, group_id, stop_file, out_file):
    import os
    out = open(out_file, "w")
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group_id, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "session.timeout.ms": 10000})
    c.subscribe([topic])
    last = time.monotonic()
    while not os.path.exists(stop_file):
        c.poll(0.2)
        if time.monotonic() - last < 1.0:
            continue
        last = time.monotonic()
        try:
            c.commit(asynchronous=False)
        except KafkaException:
            pass  # nothing to commit, or the coordinator is away: next second
        try:
            assigned = c.assignment()
            if assigned:
                for tp in c.committed(assigned, timeout=5):
                    if tp.offset >= 0:
                        out.write("committed %d %d\n" % (tp.partition, tp.offset))
                out.flush()
        except KafkaException:
            pass
    c.close()
    out.close()


def read(bootstrap, topic, out_file):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "chaos-reader", "enable.auto.commit": False})
    md = c.list_topics(topic, timeout=30)
    parts = sorted(md.topics[topic].partitions)
    with open(out_file, "w") as out:
        for p in parts:
            for attempt in range(30):  # the client may not know the partition's leader yet
                try:
                    low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                    break
                except KafkaException:
                    if attempt == 29:
                        raise
                    time.sleep(1)
            if high <= low:
                continue
            c.assign([TopicPartition(topic, p, low)])
            at = low
            idle = time.monotonic()
            while at < high:
                m = c.poll(1.0)
                if m is None or m.error():
                    if time.monotonic() - idle > 60:
                        raise SystemExit("reading %s-%d stalled at %d of %d" % (topic, p, at, high))
                    continue
                idle = time.monotonic()
                out.write("%d %d %s\n" % (m.partition(), m.offset(), m.value().decode()))
                at = m.offset() + 1
    c.close()


if __name__ == "__main__":
    what, args = sys.argv[1], sys.argv[2:]
    {"produce": produce, "group": group, "read": read}[what](*args)
