"""The sandbox's authoritative DNS: ``zone`` (answers, RFC 2136 semantics), ``server`` (UDP+TCP, TSIG) and
``rfc2136`` (a standalone update client). Nothing is imported here, so ``rfc2136`` can be used on its own."""
