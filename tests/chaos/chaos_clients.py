#!/usr/bin/python3
"""The fault suite's Python clients (tools/chaos), on python3-confluent-kafka.

  chaos_clients.py produce BOOTSTRAP TOPIC NAME RATE STOP_FILE OUT_FILE
      as chaos_producer.c: acks=all, idempotent, values NAME-0, NAME-1, ...;
      "ok P O VALUE" / "fail VALUE ERROR" per delivery report, "sent N" last.

  chaos_clients.py group BOOTSTRAP TOPIC GROUP STOP_FILE OUT_FILE [COMMIT_MS]
      a classic consumer group member that reads the topic from the
      earliest offset and commits its position every second (or
      COMMIT_MS), until STOP_FILE exists, nothing new came
      for 5 s and the group's committed offsets are at the topic's end (or
      120 s after STOP_FILE). Lines (times in
      wall-clock ms): "got P O" per record; "commit SENT ANSWERED ok|ERROR";
      "committed SENT ANSWERED P O" per partition, the group's committed
      offsets read back after each commit (-1: none), so the suite can check that they
      never go back (tests/chaos/chaos_consumer.c writes the same for a
      KIP-848 member).

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


def wall_ms():
    return int(time.time() * 1000)


def group(bootstrap, topic, group_id, stop_file, out_file, commit_ms="1000"):
    """A classic group member; lines as tests/chaos/chaos_consumer.c writes them."""
    import os
    out = open(out_file, "w")
    conf = {"bootstrap.servers": bootstrap, "group.id": group_id, "enable.auto.commit": False,
            "auto.offset.reset": "earliest", "session.timeout.ms": 10000}
    if os.environ.get("CHAOS_CLIENT_DEBUG"):
        conf["debug"] = os.environ["CHAOS_CLIENT_DEBUG"]  # librdkafka's debug contexts, to stderr
    c = Consumer(conf)
    c.subscribe([topic])
    out.write("start %d\n" % wall_ms())

    # Synchronous: an asynchronous commit held back while the coordinator
    # moves can land after the member re-read an older offset at its rejoin
    # and committed that, so the group's offset would go back (seen).
    def commit_and_read_back():
        sent = wall_ms()
        try:
            c.commit(asynchronous=False)
            out.write("commit %d %d ok\n" % (sent, wall_ms()))
        except KafkaException as e:
            if e.args[0].name() == "_NO_OFFSET":
                return  # nothing consumed since the last commit
            out.write("commit %d %d %s\n" % (sent, wall_ms(), e.args[0].name()))
        try:
            assigned = c.assignment()
            if assigned:
                sent = wall_ms()
                got = c.committed(assigned, timeout=5)
                answered = wall_ms()
                for tp in got:
                    if tp.error is None:  # none committed reads as -1: after a real one, that went back too
                        out.write("committed %d %d %d %d\n" % (sent, answered, tp.partition, max(tp.offset, -1)))
        except KafkaException:
            pass
        out.flush()

    def caught_up():
        """The group's committed offsets are at every partition's end."""
        try:
            parts = c.list_topics(topic, timeout=5).topics[topic].partitions
            got = c.committed([TopicPartition(topic, p) for p in parts], timeout=5)
            for tp in got:
                _, high = c.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=5)
                if tp.error is not None or tp.offset < high:
                    return False
            return True
        except KafkaException:
            return False

    last_commit = last_record = last_look = time.monotonic()
    stop_seen = None
    while True:
        m = c.poll(0.2)
        if m is not None and not m.error():
            out.write("got %d %d\n" % (m.partition(), m.offset()))
            last_record = time.monotonic()
        now = time.monotonic()
        if now - last_commit >= int(commit_ms) / 1000.0:
            last_commit = now
            commit_and_read_back()
        if stop_seen is None and os.path.exists(stop_file):
            stop_seen = now
        # Done once idle and the group has committed everything (a member
        # that finished waits for its group: it may be rebalancing), or
        # 120 s after the stop whatever the group did.
        if stop_seen is not None and now - last_record > 5 and now - last_look >= 1:
            last_look = now
            if caught_up():
                break
        if stop_seen is not None and now - stop_seen > 120:
            break
    commit_and_read_back()
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
