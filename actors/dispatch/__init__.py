"""Alert delivery: durable outbox, signed webhooks with retries, the Parquet alert log."""
