"""python3-confluent-kafka (Debian's, on its librdkafka) consumer groups
against a running mosaicd, with the classic protocol.

Usage:
  confluent_kafka_group_check.py group HOST:PORT TOPIC
    200 records over 4 partitions; one member reads them, storing offsets by
    hand and committing synchronously; a second member joins, 200 more are
    produced. Every record once, both members with records, committed
    offsets at the end of each partition. Prints "confluent-kafka-group: ok".
  confluent_kafka_group_check.py commit HOST:PORT TOPIC GROUP
    Creates TOPIC (4 partitions), commits offsets 10, 20, 30, 40 for GROUP
    and prints "committed".
  confluent_kafka_group_check.py committed HOST:PORT TOPIC GROUP
    Prints "committed: O0 O1 O2 O3", the group's committed offsets.
"""
import sys
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def create(bootstrap, topic):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 4, 1)])[topic].result(15)


def consumer(bootstrap, group):
    return Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
    })


def group_check(bootstrap, topic):
    create(bootstrap, topic)
    group = topic + "-group"
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    count = 400

    def produce(first, last):
        for n in range(first, last):
            producer.produce(topic, value=str(n).encode(), partition=n % 4)
        producer.flush(30)

    produce(0, count // 2)
    seen = {}
    per = [0, 0]
    dups = [0]
    stop = threading.Event()
    lock = threading.Lock()

    def member(i):
        c = consumer(bootstrap, group)

        def on_revoke(cons, parts):
            try:
                cons.commit(asynchronous=False)
            except Exception:
                pass  # nothing stored yet

        c.subscribe([topic], on_revoke=on_revoke)
        while not stop.is_set():
            m = c.poll(0.2)
            if m is None or m.error():
                continue
            with lock:
                v = m.value().decode()
                if v in seen:
                    dups[0] += 1
                seen[v] = i
                per[i] += 1
            c.store_offsets(m)
            c.commit(asynchronous=False)
        c.close()

    threads = [threading.Thread(target=member, args=(0,))]
    threads[0].start()
    deadline = time.time() + 60
    while len(seen) < count // 2 and time.time() < deadline:
        time.sleep(0.05)
    threads.append(threading.Thread(target=member, args=(1,)))
    threads[1].start()
    time.sleep(3)
    produce(count // 2, count)
    deadline = time.time() + 60
    while len(seen) < count and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join()
    c = consumer(bootstrap, group)
    committed = c.committed([TopicPartition(topic, p) for p in range(4)], timeout=10)
    c.close()
    total = sum(tp.offset for tp in committed if tp.offset > 0)
    if len(seen) != count or dups[0] or per[1] == 0 or total != count:
        print("confluent-kafka-group: FAIL consumed %d of %d, %d twice, per member %s, committed %d"
              % (len(seen), count, dups[0], per, total))
        return 1
    print("confluent-kafka-group: ok %d records, per member %s" % (count, per))
    return 0


def commit(bootstrap, topic, group):
    create(bootstrap, topic)
    c = consumer(bootstrap, group)
    c.commit(offsets=[TopicPartition(topic, p, 10 * (p + 1)) for p in range(4)], asynchronous=False)
    c.close()
    print("committed")
    return 0


def committed(bootstrap, topic, group):
    c = consumer(bootstrap, group)
    got = c.committed([TopicPartition(topic, p) for p in range(4)], timeout=10)
    c.close()
    print("committed: " + " ".join(str(tp.offset) for tp in got))
    return 0


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "group":
        sys.exit(group_check(sys.argv[2], sys.argv[3]))
    if mode == "commit":
        sys.exit(commit(sys.argv[2], sys.argv[3], sys.argv[4]))
    if mode == "committed":
        sys.exit(committed(sys.argv[2], sys.argv[3], sys.argv[4]))
    print(__doc__)
    sys.exit(2)
