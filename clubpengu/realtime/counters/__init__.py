"""Counters that several nodes share (REDIS_URL): rate limits and per-address counts."""
