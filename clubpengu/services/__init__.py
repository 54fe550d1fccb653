"""The rules: economy (the coin ledger), shop, promo codes ... Services take primitive
arguments, raise `clubpengu.errors.DomainError`s and never import the transport."""
