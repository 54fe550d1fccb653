"""Club Pengu backend: wallet sign-in, a realtime world, a coin ledger and wagered games."""

__version__ = "0.1.0"
