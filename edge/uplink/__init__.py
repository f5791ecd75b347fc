"""Store-and-forward towards the cloud: an outbox written with the business data, drained by a
sender that the cloud answers idempotently."""
