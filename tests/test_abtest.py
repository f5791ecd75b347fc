"""Coupon A/B tests: the assignment is the same pure function in Python and in the browser's
JavaScript (shared vectors), every statistic of the report is SciPy's, and on real PostgreSQL
HQ gives each member their variant's coupon and reports what the hubs' events say.

What HQ would notice: a member whose variant differs between HQ and a hub, a rate or p-value
that is not the textbook one, a "winner" declared on a handful of members, or a broken split
not called out.
"""

import hashlib
import json
import math
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from scipy import stats as sp
from sqlalchemy import create_engine, text

from cloud.analytics import stats
from cloud.analytics.experiments import report
from cloud.analytics.schemas import VariantCreate
from cloud.const import AB_MIN_EXPOSED
from contract.abtest import BUCKETS, assign, bucket, variant_index
from contract.members import CouponKind, CouponTemplate
from smartstore.cloud_service import CloudHandle
from tests.test_cloud_members import Hub, joined, paid, redeemed, refunded, released

ROOT = Path(__file__).resolve().parent.parent
VECTORS = json.loads((ROOT / "tests/fixtures/ab_vectors.json").read_text(encoding="utf-8"))[
    "vectors"
]
JS = ROOT / "edge/web/static/js/abtest.js"
NOW = time.time()
DAY = 86400.0


def run_js(expression: str) -> Any:
    """Evaluate `expression` (with `m` the abtest.js module) in node; its JSON result."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = (
        f"import(process.argv[1]).then((m) => process.stdout.write(JSON.stringify({expression})))"
    )
    out = subprocess.run(
        [node, "--input-type=module", "-e", script, JS.as_uri()],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return json.loads(out.stdout)


# --- the assignment --------------------------------------------------------------------------


def test_python_gives_the_shared_vectors() -> None:
    assert len(VECTORS) >= 20
    for v in VECTORS:
        assert bucket(v["experiment"], v["member"]) == v["bucket"], v
        assert assign(v["experiment"], v["member"], v["shares_pct"]) == v["variant"], v
    # The documented hash, spelled out once, independently of contract/abtest.py.
    digest = hashlib.sha256(b"exp1:mabc12345").hexdigest()
    assert bucket("exp1", "mabc12345") == int(digest[:8], 16) % 10000


def test_javascript_gives_the_shared_vectors() -> None:
    got = run_js(
        "JSON.parse(process.argv[2]).map((v) => [m.bucket(v.experiment, v.member),"
        " m.assign(v.experiment, v.member, v.shares_pct)])".replace(
            "process.argv[2]", json.dumps(json.dumps(VECTORS))
        )
    )
    assert got == [[v["bucket"], v["variant"]] for v in VECTORS]


def test_javascript_sha256_is_sha256() -> None:
    # FIPS 180-2's examples (one block, two blocks), the empty string, and Chinese in UTF-8.
    texts = [
        "abc",
        "",
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
        "秋季:m" + "x" * 120,
    ]
    got = run_js(f"{json.dumps(texts)}.map((t) => m.sha256First32(t))")
    assert got == [int(hashlib.sha256(t.encode()).hexdigest()[:8], 16) for t in texts]


def test_variants_take_their_share_of_buckets() -> None:
    shares = [34, 33, 33]
    edges = [variant_index(shares, b) for b in (0, 3399, 3400, 6699, 6700, BUCKETS - 1)]
    assert edges == [0, 0, 1, 1, 2, 2]
    with pytest.raises(ValueError, match="add up to 100"):
        variant_index([50, 40], 0)
    # Over many members the split is the planned one (the hash spreads them evenly).
    counts = [0, 0, 0]
    for i in range(30000):
        counts[assign("split-check", f"m{i:08d}", shares)] += 1
    assert sp.chisquare(counts, [30000 * s / 100 for s in shares]).pvalue > 0.001


# --- the statistics, against SciPy -------------------------------------------------------


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 8, 11])
def test_chi_square_tail_is_scipys(df: int) -> None:
    for x in (0.01, 0.5, 1.0, 3.84, 6.63, 12.0, 30.0, 80.0):
        assert stats.chi2_sf(x, df) == pytest.approx(sp.chi2.sf(x, df), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(("k", "n"), [(0, 10), (1, 30), (12, 100), (250, 1000), (99, 100)])
def test_wilson_interval_is_scipys(k: int, n: int) -> None:
    ci = sp.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = stats.wilson_interval(k, n)
    assert low == pytest.approx(ci.low, abs=1e-12)
    assert high == pytest.approx(ci.high, abs=1e-12)


@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2"), [(30, 400, 45, 410), (10, 100, 11, 100), (120, 1000, 180, 1000)]
)
def test_two_proportion_p_is_scipys(k1: int, n1: int, k2: int, n2: int) -> None:
    # The pooled z-test is Pearson's chi-square on the 2x2 table, without Yates' correction.
    table = [[k1, n1 - k1], [k2, n2 - k2]]
    expected = sp.chi2_contingency(table, correction=False).pvalue
    assert stats.two_proportion_p(k1, n1, k2, n2) == pytest.approx(expected, rel=1e-9)


def test_sample_ratio_mismatch_is_scipys() -> None:
    for observed, shares in (([520, 480], [50, 50]), ([300, 350, 350], [34, 33, 33])):
        expected = sp.chisquare(observed, [sum(observed) * s / 100 for s in shares]).pvalue
        assert stats.sample_ratio_mismatch(observed, shares) == pytest.approx(expected, rel=1e-9)


def arms(*shares: int) -> list[VariantCreate]:
    return [
        VariantCreate(
            name=f"v{i}",
            share_pct=s,
            template=CouponTemplate(
                id=f"t{i}",
                name_zh="券",
                name_en="coupon",
                kind=CouponKind.AMOUNT_OFF,
                value_fen=1000,
            ),
        )
        for i, s in enumerate(shares)
    ]


def test_report_numbers_are_scipys_and_it_concludes_only_when_it_may() -> None:
    seen = {0: (1000, 80, 500000), 1: (1010, 121, 640000)}
    r = report("x", arms(50, 50), seen, NOW)
    control, b = r.arms
    assert control.rate == 0.08
    assert b.rate == pytest.approx(121 / 1010)
    ci = sp.binomtest(121, 1010).proportion_ci(method="wilson")
    assert b.ci95_low == pytest.approx(ci.low)
    assert b.ci95_high == pytest.approx(ci.high)
    assert b.lift == pytest.approx((121 / 1010 - 0.08) / 0.08)
    p = sp.chi2_contingency([[80, 920], [121, 889]], correction=False).pvalue
    assert b.p_value == pytest.approx(p)
    assert r.srm_p_value == pytest.approx(sp.chisquare([1000, 1010]).pvalue)
    assert b.revenue_per_member_fen == pytest.approx(640000 / 1010)
    assert (r.conclusive, r.srm_warning) == (True, False)
    assert "a real difference" in r.verdict and f"p = {p:.2g}" in r.verdict

    # A 2-point gap on 60 members a side: no verdict, however large the lift looks.
    few = report("x", arms(50, 50), {0: (60, 12, 0), 1: (60, 24, 0)}, NOW)
    assert few.conclusive is False
    assert few.verdict.startswith("Too few members to conclude")
    assert few.arms[1].lift == pytest.approx(1.0)  # +100 %, and still nothing to conclude

    # Broken split: 1,000 against 1,200 on a 50/50 plan.
    skewed = report("x", arms(50, 50), {0: (1000, 100, 0), 1: (1200, 130, 0)}, NOW)
    assert skewed.srm_p_value == pytest.approx(sp.chisquare([1000, 1200]).pvalue)
    assert skewed.srm_p_value is not None and skewed.srm_p_value < 0.01
    assert (skewed.srm_warning, skewed.conclusive) == (True, False)
    assert skewed.verdict.startswith("Sample ratio mismatch")

    # Three arms: each against the control at 0.05 / 2.
    three = report("x", arms(34, 33, 33), {0: (900, 90, 0), 1: (880, 120, 0), 2: (870, 88, 0)}, NOW)
    for a, (k, n) in zip(three.arms[1:], [(120, 880), (88, 870)], strict=True):
        table = [[90, 810], [k, n - k]]
        assert a.p_value == pytest.approx(sp.chi2_contingency(table, correction=False).pvalue)
    assert "needs < 0.025" in three.verdict


# --- at HQ, through HTTP ----------------------------------------------------------------------


def template(tid: str, off: int) -> dict[str, Any]:
    return {
        "id": tid,
        "name_zh": f"满50减{off}",
        "name_en": f"{off} off 50",
        "kind": "amount_off",
        "value_fen": off * 100,
        "min_spend_fen": 5000,
        "valid_days": 30,
    }


def test_an_experiment_at_hq(cloud: CloudHandle) -> None:
    members = 2 * AB_MIN_EXPOSED + 40
    hub = Hub(cloud, "S1")
    ids = [f"mab{i:06d}" for i in range(members)]
    events: list[Any] = []
    for i, m in enumerate(ids):
        events.append(joined(cloud.member_key, m, f"1370000{i:04d}", at=NOW - 60 * DAY))
        events.append(paid(f"pay-first-{i:05d}", m, 4000 + i, at=NOW - 30 * DAY))
    for start in range(0, len(events), 400):
        hub.send(*events[start : start + 400])
    hq = cloud.hq()
    assert hq.post("/api/v1/hq/rfm/score").json()["members"] == members
    body: dict[str, Any] = {
        "id": "ten-or-twenty",
        "name": "10 or 20 off 50",
        "variants": [
            {"name": "10 off", "share_pct": 50, "template": template("ab10", 10)},
            {"name": "20 off", "share_pct": 50, "template": template("ab20", 20)},
        ],
    }
    created = hq.post("/api/v1/hq/experiments", json=body)
    assert created.status_code == 201, created.text
    assert hq.post("/api/v1/hq/experiments", json=body).status_code == 409
    bad = {**body, "id": "bad", "variants": [{**v, "share_pct": 40} for v in body["variants"]]}
    assert hq.post("/api/v1/hq/experiments", json=bad).status_code == 422
    assert hq.get("/api/v1/hq/experiments/nope/report").status_code == 404

    early = hq.get("/api/v1/hq/experiments/ten-or-twenty/report").json()
    assert [a["exposed"] for a in early["arms"]] == [0, 0]
    assert early["conclusive"] is False

    issued = hq.post("/api/v1/hq/experiments/ten-or-twenty/issue")
    assert issued.status_code == 200, issued.text
    want = [0, 0]
    for m in ids:
        want[assign("ten-or-twenty", m, [50, 50])] += 1
    assert issued.json() == {"experiment": "ten-or-twenty", "exposed": want, "skipped": 0}
    again = hq.post("/api/v1/hq/experiments/ten-or-twenty/issue").json()
    assert again["exposed"] == [0, 0]  # once per member

    # Every member holds their variant's coupon, as a hub computing the hash offline says.
    engine = create_engine(cloud.settings.database_url)
    with engine.connect() as conn:
        held: dict[str, str] = dict(
            conn.execute(text("SELECT member_id, template || ':' || code FROM coupons")).all()
        )
    engine.dispose()
    for m in ids:
        tid, _ = held[m].split(":")
        assert tid == ("ab10", "ab20")[assign("ten-or-twenty", m, [50, 50])], m
    assert hub.member(member=ids[0])["coupons"][0]["template"] in ("ab10", "ab20")

    # Conversions at the hub: every 4th member of arm 0 and every 2nd of arm 1 use the coupon
    # on a bill; one of arm 1 is refunded (coupon released): not a conversion, no revenue.
    # Every 5th member also pays a bill without it (revenue, no conversion).
    converted = [0, 0]
    revenue = [0, 0]
    later: list[Any] = []
    refunded_one = False
    for i, m in enumerate(ids):
        arm = assign("ten-or-twenty", m, [50, 50])
        code = held[m].split(":")[1]
        at = NOW + 60 + i
        if i % (4 if arm == 0 else 2) == 0:
            pay = f"pay-ab-{i:05d}"
            later += [paid(pay, m, 6000, at=at), redeemed(code, m, pay, at=at)]
            if arm == 1 and not refunded_one:
                refunded_one = True
                later += [refunded(pay, 6000, at=at + 1), released(code, m, pay, at=at + 1)]
            else:
                converted[arm] += 1
                revenue[arm] += 6000
        if i % 5 == 0:
            later.append(paid(f"pay-plain-{i:05d}", m, 3000, at=at + 2))
            revenue[arm] += 3000
    for start in range(0, len(later), 400):
        hub.send(*later[start : start + 400])

    r = hq.get("/api/v1/hq/experiments/ten-or-twenty/report")
    assert r.status_code == 200, r.text
    rep = r.json()
    got = [(a["exposed"], a["converted"], a["revenue_fen"]) for a in rep["arms"]]
    assert got == [(want[i], converted[i], revenue[i]) for i in (0, 1)]
    p = sp.chi2_contingency(
        [[converted[0], want[0] - converted[0]], [converted[1], want[1] - converted[1]]],
        correction=False,
    ).pvalue
    assert rep["arms"][1]["p_value"] == pytest.approx(p)
    assert rep["srm_p_value"] == pytest.approx(sp.chisquare(want).pvalue)
    assert rep["conclusive"] is True, rep["verdict"]
    assert math.isclose(
        rep["arms"][1]["lift"], (converted[1] / want[1]) / (converted[0] / want[0]) - 1
    )

    rows = hq.get("/api/v1/hq/experiments/ten-or-twenty/report", params={"format": "csv"})
    assert rows.headers["content-type"].startswith("text/csv")
    assert "20 off" in rows.text and str(want[1]) in rows.text
