// kafkajs 2.2.4 on a secured listener of a running mosaicd: produces COUNT
// numbered records with acks=all to TOPIC (one partition), then a consumer
// group reads them back in order.
// Usage: node kafkajs_secure_check.js HOST:PORT TOPIC COUNT [KEY=VALUE...] [expect-refusal]
// Keys: ca=PEM (TLS, trusting that CA), cert=PEM key=PEM (a client
// certificate), mechanism=plain|scram-sha-256|scram-sha-512 username=
// password= (SASL). With expect-refusal, checks instead that the broker
// refuses the client and nothing is delivered.
// Prints "secure: ok N" (or "secure: refused: WHY") and exits 0 on success.
'use strict'
const fs = require('fs')
const { Kafka, logLevel } = require('kafkajs')

async function main () {
  const [bootstrap, topic, countText, ...rest] = process.argv.slice(2)
  const count = Number(countText)
  const refusal = rest.includes('expect-refusal')
  const opts = Object.fromEntries(rest.filter(a => a !== 'expect-refusal').map(a => {
    const at = a.indexOf('=')
    return [a.slice(0, at), a.slice(at + 1)]
  }))
  const config = { clientId: 'kafkajs-secure', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: refusal ? 0 : 3 } }
  if (opts.ca) {
    config.ssl = { ca: [fs.readFileSync(opts.ca, 'utf8')] }
    if (opts.cert) {
      config.ssl.cert = fs.readFileSync(opts.cert, 'utf8')
      config.ssl.key = fs.readFileSync(opts.key, 'utf8')
    }
  }
  if (opts.mechanism) config.sasl = { mechanism: opts.mechanism, username: opts.username, password: opts.password }
  const kafka = new Kafka(config)

  const producer = kafka.producer()
  try {
    await producer.connect()
    const messages = []
    for (let i = 0; i < count; i++) messages.push({ key: 'k' + (i % 7), value: 'secure-' + String(i).padStart(6, '0') })
    for (let i = 0; i < count; i += 100) await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 100) })
    await producer.disconnect()
  } catch (e) {
    if (refusal) {
      console.log('secure: refused: ' + e.name + ': ' + e.message)
      return
    }
    throw e
  }
  if (refusal) throw new Error('the broker did not refuse the client')

  const consumer = kafka.consumer({ groupId: 'secure-js-' + topic })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const seen = []
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('consumed ' + seen.length + ' of ' + count)), 60000)
    consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value.toString())
        if (seen.length === count) {
          clearTimeout(timer)
          resolve()
        }
      }
    }).catch(reject)
  })
  await consumer.disconnect()
  for (let i = 0; i < count; i++) {
    const want = 'secure-' + String(i).padStart(6, '0')
    if (seen[i] !== want) throw new Error('record ' + i + ' is ' + seen[i] + ', not ' + want)
  }
  console.log('secure: ok ' + count)
}

main().catch(e => {
  console.error('secure: ' + e.name + ': ' + e.message)
  process.exit(1)
})
