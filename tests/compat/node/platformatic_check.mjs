// @platformatic/kafka 1.35.0 (flexible versions only) against a running
// mosaicd: admin create and metadata, a producer with acks=all, keys and
// headers, then delete of a second topic. The test consumes the records
// with another client and checks them.
// Usage: node platformatic_check.mjs HOST:PORT TOPIC
import { Admin, Producer, ProduceAcks, stringSerializers } from '@platformatic/kafka'

const [bootstrap, topic] = process.argv.slice(2)

try {
  const admin = new Admin({ clientId: 'platformatic-check', bootstrapBrokers: [bootstrap], retries: 2 })
  await admin.createTopics({ topics: [topic, `${topic}-gone`], partitions: 2, replicas: 1 })
  const md = await admin.metadata({ topics: [topic] })
  const info = md.topics.get(topic)
  if (!info || info.partitionsCount !== 2) throw new Error('metadata: ' + JSON.stringify([...md.topics.keys()]))
  await admin.deleteTopics({ topics: [`${topic}-gone`] })
  const left = await admin.listTopics()
  if (left.includes(`${topic}-gone`)) throw new Error('deleted topic still listed: ' + left)
  await admin.close()

  const producer = new Producer({ clientId: 'platformatic-check', bootstrapBrokers: [bootstrap], serializers: stringSerializers, retries: 2 })
  const messages = []
  for (let n = 0; n < 100; n++) {
    messages.push({ topic, partition: n % 2, key: `key-${n}`, value: `platformatic-${n}`, headers: { n: String(n) }, timestamp: BigInt(1700000000000 + n) })
  }
  await producer.send({ messages, acks: ProduceAcks.ALL })
  await producer.close()
  console.log('platformatic: ok')
} catch (e) {
  console.error('platformatic: FAIL', e)
  const walk = (x, d = 0) => { for (const i of x?.errors ?? []) { console.error(' '.repeat(d), i?.message, i?.code, JSON.stringify(i?.response ?? i?.cause ?? '')); walk(i, d + 2) } }
  walk(e)
  process.exit(1)
}
