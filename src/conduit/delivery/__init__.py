"""The heart: per-connector queues, the dispatcher, signing, retry policy, SSRF-safe HTTP."""
