"""Members across the chain at HQ: the authority the hubs' replicas answer to.

models: the tables; ingest: what the hubs' member events do at HQ, in the ingest transaction;
service: balances, the lookup, adjustments, coupons, erasure, the liability (docs/members-hq.md).
"""
