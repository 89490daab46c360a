// usage: node ctl.mjs write <key> <json|null> [--secret S] | node ctl.mjs dump [topic] | node ctl.mjs create <topic> <n> | node ctl.mjs addparts <topic> <n> | node ctl.mjs offsets <topic>
import {createRequire} from 'node:module'
const require = createRequire('/work/main/package.json')
const {Kafka, logLevel} = require('kafkajs')
const codec = await import('/work/main/dist/src/control/codec.js')
const brokers = process.env.KREORG_BROKERS.split(',')
const kafka = new Kafka({brokers, logLevel: logLevel.NOTHING})
const [cmd, a, b] = process.argv.slice(2)
const si = process.argv.indexOf('--secret')
const secret = si > 0 ? process.argv[si + 1] : undefined
const control = process.env.KREORG_CONTROL_TOPIC || 'kreorg-control'
switch (cmd) {
  case 'write': {
    const p = kafka.producer()
    await p.connect()
    let value = null
    if (b !== 'null') {
      const msg = JSON.parse(b)
      if (msg.at === undefined) msg.at = Date.now()
      if (msg.leaseExpiresAt === 'now+') msg.leaseExpiresAt = Date.now() + 60_000
      value = secret ? codec.encode(a, msg, secret) : Buffer.from(JSON.stringify(msg))
    }
    const r = await p.send({topic: control, acks: -1, messages: [{key: a, value, partition: 0}]})
    console.log(JSON.stringify(r))
    await p.disconnect()

    break
  }
  case 'dump': {
    const topic = a || control
    const c = kafka.consumer({groupId: 'kreorg-internal-dump-' + Math.random()})
    await c.connect()
    await c.subscribe({topic, fromBeginning: true})
    await c.run({
      eachMessage: async ({partition, message}) =>
        console.log(partition, message.offset, message.timestamp, message.key?.toString(), message.value?.toString() ?? 'null'),
    })
    await new Promise((r) => setTimeout(r, Number(b || 3000)))
    await c.disconnect()

    break
  }
  case 'create': {
    const ad = kafka.admin()
    await ad.connect()
    console.log(await ad.createTopics({topics: [{topic: a, numPartitions: Number(b)}]}))
    await ad.disconnect()

    break
  }
  case 'addparts': {
    const ad = kafka.admin()
    await ad.connect()
    await ad.createPartitions({topicPartitions: [{topic: a, count: Number(b)}]})
    console.log('ok')
    await ad.disconnect()

    break
  }
  case 'offsets': {
    const ad = kafka.admin()
    await ad.connect()
    console.log(JSON.stringify(await ad.fetchTopicOffsets(a)))
    await ad.disconnect()

    break
  }
  // No default
}
process.exit(0)
