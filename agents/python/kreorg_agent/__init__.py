"""kreorg control-protocol agent for confluent-kafka (librdkafka) producers."""
__version__ = "0.1.0"

from .agent import AgentClosed, HeldSendsFull, KreorgProducer  # noqa: E402

__all__ = ["KreorgProducer", "HeldSendsFull", "AgentClosed", "__version__"]
