// kafkajs 2.2.4 consumer groups (the classic protocol, its eager
// RoundRobin/Range assignors run by the group leader) against a running
// mosaicd. Produces 200 records over 4 partitions and one member reads them,
// committing each offset by hand; a second member joins, 200 more records
// are produced, and both read. Every record must be consumed once, both
// members must get records; then the admin API must show the group and its
// committed offsets at the end of every partition, and a deleted group must
// be gone.
// Usage: node kafkajs_group_check.js HOST:PORT TOPIC
'use strict'
const { Kafka, logLevel } = require('kafkajs')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function main () {
  const [bootstrap, topic] = process.argv.slice(2)
  const count = 400
  const groupId = `${topic}-group`
  const kafka = new Kafka({ clientId: 'kafkajs-group', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 5 } })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true })
  const producer = kafka.producer()
  await producer.connect()
  const produce = async (from, to) => {
    const messages = []
    for (let n = from; n < to; n++) messages.push({ partition: n % 4, value: String(n) })
    await producer.send({ topic, acks: -1, messages })
  }
  await produce(0, count / 2)

  const seen = new Map()
  const per = [0, 0]
  let dups = 0
  const member = async (i) => {
    const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, rebalanceTimeout: 10000, heartbeatInterval: 500 })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const v = message.value.toString()
        if (seen.has(v)) dups++
        seen.set(v, i)
        per[i]++
        await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }])
      }
    })
    return consumer
  }
  const first = await member(0)
  let deadline = Date.now() + 60000
  while (seen.size < count / 2 && Date.now() < deadline) await sleep(20)
  const second = await member(1)
  await sleep(3000)
  await produce(count / 2, count)
  deadline = Date.now() + 60000
  while (seen.size < count && Date.now() < deadline) await sleep(50)
  await sleep(500)
  const described = await admin.describeGroups([groupId])
  const group = described.groups[0]
  if (group.state !== 'Stable' || group.members.length !== 2 || group.protocolType !== 'consumer') {
    throw new Error('describeGroups: ' + JSON.stringify(group))
  }
  await first.disconnect()
  await second.disconnect()
  await producer.disconnect()
  if (seen.size !== count || dups !== 0 || per[1] === 0) throw new Error(`consumed ${seen.size} of ${count}, ${dups} twice, per member ${per}`)

  const listed = await admin.listGroups()
  if (!listed.groups.some(g => g.groupId === groupId)) throw new Error('listGroups: ' + JSON.stringify(listed))
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] })
  const total = offsets[0].partitions.reduce((sum, p) => sum + Number(p.offset), 0)
  if (total !== count) throw new Error('fetchOffsets: ' + JSON.stringify(offsets))
  await admin.deleteGroups([groupId])
  const after = await admin.listGroups()
  if (after.groups.some(g => g.groupId === groupId)) throw new Error('deleted group still listed')
  await admin.disconnect()
  console.log(`kafkajs-group: ok ${count} records, per member ${per}`)
}

main().then(() => process.exit(0), (e) => {
  console.error('kafkajs-group: FAIL', e)
  process.exit(1)
})
