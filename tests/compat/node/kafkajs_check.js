// kafkajs 2.2.4 (non-flexible versions only) against a running mosaicd:
// admin create/describe/alter/metadata, then a producer with acks=all, keys
// and headers, uncompressed and gzip. The test consumes the records with
// another client and checks them.
// Usage: node kafkajs_check.js HOST:PORT TOPIC
'use strict'
const { Kafka, CompressionTypes, ConfigResourceTypes, logLevel } = require('kafkajs')

async function main () {
  const [bootstrap, topic] = process.argv.slice(2)
  const kafka = new Kafka({ clientId: 'kafkajs-check', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } })
  const admin = kafka.admin()
  await admin.connect()
  const created = await admin.createTopics({ topics: [{ topic, numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '86400000' }] }], waitForLeaders: true })
  if (!created) throw new Error('createTopics returned false')
  const md = await admin.fetchTopicMetadata({ topics: [topic] })
  if (md.topics[0].partitions.length !== 2) throw new Error('metadata: ' + JSON.stringify(md))
  await admin.alterConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: '43200000' }] }] })
  const described = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }] })
  const value = described.resources[0].configEntries.find(e => e.configName === 'retention.ms').configValue
  if (value !== '43200000') throw new Error('retention.ms is ' + value)
  const cluster = await admin.describeCluster()
  if (cluster.brokers.length !== 1) throw new Error('describeCluster: ' + JSON.stringify(cluster))
  await admin.disconnect()

  const producer = kafka.producer()
  await producer.connect()
  for (const compression of [CompressionTypes.None, CompressionTypes.GZIP]) {
    const messages = []
    for (let i = 0; i < 50; i++) {
      const n = compression * 50 + i
      messages.push({ partition: n % 2, key: `key-${n}`, value: `kafkajs-${n}`, headers: { n: String(n) }, timestamp: String(1700000000000 + n) })
    }
    const acks = await producer.send({ topic, acks: -1, compression, messages })
    for (const a of acks) if (a.errorCode !== 0) throw new Error('produce: ' + JSON.stringify(a))
  }
  await producer.disconnect()
  console.log('kafkajs: ok')
}

main().catch(e => { console.error('kafkajs: FAIL', e); process.exit(1) })
