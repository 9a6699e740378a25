// @platformatic/kafka 1.35.0 in a consumer group against a running mosaicd,
// with the protocol given (consumer: KIP-848's ConsumerGroupHeartbeat;
// classic: JoinGroup/SyncGroup). Produces 200 records over 4 partitions and
// one consumer reads them, committing each; a second member joins, and 200
// more records are produced. The second member must start from the first
// one's commits: every record consumed, none twice, both members with
// records, and a third member started afterwards from the committed
// offsets must find nothing left. (The records are produced in two waves
// because this client prefetches: records it had fetched before giving a
// partition up would otherwise reach the application after the handover,
// which is the client's at-least-once behaviour, not the broker's.)
// Usage: node platformatic_group_check.mjs HOST:PORT TOPIC consumer|classic
import { Admin, Consumer, Producer, ProduceAcks, stringSerializers, stringDeserializers } from '@platformatic/kafka'

const [bootstrap, topic, protocol] = process.argv.slice(2)
const count = 400
const group = `${topic}-group`
const options = (clientId) => ({
  clientId, groupId: group, bootstrapBrokers: [bootstrap], deserializers: stringDeserializers,
  groupProtocol: protocol, sessionTimeout: 10000, heartbeatInterval: 500, rebalanceTimeout: 10000, maxWaitTime: 200, retries: 5
})
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

try {
  const admin = new Admin({ clientId: 'pg-admin', bootstrapBrokers: [bootstrap], retries: 2 })
  await admin.createTopics({ topics: [topic], partitions: 4, replicas: 1 })
  await admin.close()
  const producer = new Producer({ clientId: 'pg-producer', bootstrapBrokers: [bootstrap], serializers: stringSerializers, retries: 2 })
  const produce = async (from, to) => {
    const messages = []
    for (let n = from; n < to; n++) messages.push({ topic, partition: n % 4, value: String(n) })
    await producer.send({ messages, acks: ProduceAcks.ALL })
  }
  await produce(0, count / 2)

  const seen = new Map()
  const per = [0, 0]
  let dups = 0
  const run = async (i) => {
    const consumer = new Consumer(options(`pg-${i}`))
    const stream = await consumer.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: false })
    const done = (async () => {
      for await (const m of stream) {
        if (seen.has(m.value)) dups++
        seen.set(m.value, i)
        per[i]++
        await m.commit()
        if (seen.size === count) break
      }
    })()
    return { consumer, stream, done }
  }
  const first = await run(0)
  let deadline = Date.now() + 60000
  while (seen.size < count / 2 && Date.now() < deadline) await sleep(20)
  const second = await run(1)
  await sleep(3000) // the second member joins and the partitions are split
  await produce(count / 2, count)
  await producer.close()
  deadline = Date.now() + 60000
  while (seen.size < count && Date.now() < deadline) await sleep(50)
  await sleep(1000)
  for (const m of [first, second]) {
    await m.stream.close()
    await m.consumer.close()
  }
  if (seen.size !== count || dups !== 0 || per[1] === 0) throw new Error(`consumed ${seen.size} of ${count}, ${dups} twice, per member ${per}`)

  // Nothing is left after the committed offsets.
  const late = new Consumer(options('pg-late'))
  const rest = await late.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: false })
  let leftover = 0
  rest.on('data', () => leftover++)
  await sleep(3000)
  await rest.close()
  await late.close()
  if (leftover !== 0) throw new Error(`${leftover} records read again after the commits`)
  console.log(`platformatic-group(${protocol}): ok ${count} records, per member ${per}`)
  process.exit(0)
} catch (e) {
  console.error(`platformatic-group(${protocol}): FAIL`, e)
  const walk = (x, d = 0) => { for (const i of x?.errors ?? []) { console.error(' '.repeat(d), i?.message, i?.code, JSON.stringify(i?.response ?? i?.cause ?? '')); walk(i, d + 2) } }
  walk(e)
  process.exit(1)
}
