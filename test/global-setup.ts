// Placeholder until src/local-kafka lands: uses KAFKA_BROKERS from the environment.
export default async function setup(): Promise<void> {
  if (!process.env.KAFKA_BROKERS) throw new Error('set KAFKA_BROKERS (src/local-kafka not wired yet)')
}
