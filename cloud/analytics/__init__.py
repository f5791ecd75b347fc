"""HQ's analytics of members (docs/analytics.md).

models: the tables; rfm: recency, frequency and money quintiles and the eight segments;
stats: the A/B report's statistics; experiments: coupon A/B tests (assignment in
contract/abtest.py), their exposure, conversion and report.
"""
