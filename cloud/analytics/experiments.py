"""Coupon A/B tests (docs/analytics.md): who gets which variant, and the report.

A member's variant is contract.abtest.assign(experiment, member, shares): a pure function, so
HQ, an offline hub and the browser agree. HQ gives each member of the experiment's segment
their variant's coupon (an exposure, once per member); a conversion is that coupon used on a
paid bill that was not refunded; the revenue is what the member paid, on any bill, from their
exposure on (so a coupon that only moves spend from one visit to another shows no gain).
"""

from collections.abc import Sequence

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session

from cloud.analytics import stats
from cloud.analytics.models import Experiment, Exposure, MemberRfm
from cloud.analytics.schemas import ArmReport, ExperimentReport, VariantCreate
from cloud.const import AB_ALPHA, AB_COUPON_SOURCE, AB_MIN_EXPOSED, AB_MIN_OUTCOMES, SRM_ALPHA
from cloud.members import service
from cloud.members.models import Coupon, Member, MemberId, MemberSpend
from contract.abtest import assign


def variants(experiment: Experiment) -> list[VariantCreate]:
    return [VariantCreate.model_validate(v) for v in experiment.variants]


def expose(session: Session, experiment: Experiment, now: float) -> tuple[list[int], int]:
    """Give every member of the experiment's segment (as last scored; every scored member if
    none) who has no exposure yet their variant's coupon. Returns the members exposed per
    variant and how many were skipped (at their template's per-member limit)."""
    arms = variants(experiment)
    shares = [v.share_pct for v in arms]
    already = select(Exposure.member).where(Exposure.experiment == experiment.id)
    query = (
        select(Member)
        .join(MemberRfm, MemberRfm.member == Member.id)
        .where(Member.erased_at.is_(None), Member.id.not_in(already))
        .order_by(Member.id)
    )
    if experiment.segment is not None:
        query = query.where(MemberRfm.segment == experiment.segment)
    exposed = [0] * len(arms)
    skipped = 0
    for member in session.scalars(query).all():
        arm = assign(experiment.id, member.id, shares)
        coupon = service.issue_coupon(session, member, arms[arm].template, AB_COUPON_SOURCE, now)
        if coupon is None:
            skipped += 1
            continue
        session.add(
            Exposure(
                experiment=experiment.id,
                member=member.id,
                variant=arm,
                coupon=coupon.code,
                exposed_at=now,
            )
        )
        exposed[arm] += 1
    session.flush()
    return exposed, skipped


def outcomes(session: Session, experiment: str) -> dict[int, tuple[int, int, int]]:
    """Per variant: members exposed, converted, and their revenue (fen) since exposure."""
    converted = exists(
        select(Coupon.code)
        .join(
            MemberSpend,
            and_(
                MemberSpend.store_id == Coupon.redeemed_store,
                MemberSpend.payment == Coupon.redeemed_payment,
            ),
        )
        .where(
            Coupon.code == Exposure.coupon,
            Coupon.redeemed_at.is_not(None),
            MemberSpend.refunded_at.is_(None),
        )
    )
    revenue = (
        select(func.coalesce(func.sum(MemberSpend.amount_fen), 0))
        .join(MemberId, MemberId.id == MemberSpend.member_id)
        .where(
            MemberId.member == Exposure.member,
            MemberSpend.refunded_at.is_(None),
            MemberSpend.paid_at >= Exposure.exposed_at,
        )
        .scalar_subquery()
    )
    per_member = (
        select(
            Exposure.variant.label("variant"),
            case((converted, 1), else_=0).label("converted"),
            revenue.label("revenue"),
        )
        .where(Exposure.experiment == experiment)
        .subquery()
    )
    rows = session.execute(
        select(
            per_member.c.variant,
            func.count(),
            func.sum(per_member.c.converted),
            func.sum(per_member.c.revenue),
        ).group_by(per_member.c.variant)
    )
    return {int(v): (int(n), int(k or 0), int(r or 0)) for v, n, k, r in rows}


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def report(
    experiment: str,
    arms: Sequence[VariantCreate],
    seen: dict[int, tuple[int, int, int]],
    at: float,
) -> ExperimentReport:
    """Each arm's conversion with its 95 % Wilson interval, its lift over the control (the
    first variant) and a two-proportion z-test's p-value against it; the sample-ratio check;
    and a verdict in plain words."""
    n0, k0, _ = seen.get(0, (0, 0, 0))
    rate0 = k0 / n0 if n0 else None
    out: list[ArmReport] = []
    for i, arm in enumerate(arms):
        n, k, revenue = seen.get(i, (0, 0, 0))
        rate = k / n if n else None
        low, high = stats.wilson_interval(k, n) if n else (None, None)
        lift = (
            (rate - rate0) / rate0
            if i > 0 and rate is not None and rate0 is not None and rate0 > 0
            else None
        )
        p = stats.two_proportion_p(k0, n0, k, n) if i > 0 else None
        out.append(
            ArmReport(
                variant=i,
                name=arm.name,
                share_pct=arm.share_pct,
                exposed=n,
                converted=k,
                rate=rate,
                ci95_low=low,
                ci95_high=high,
                revenue_fen=revenue,
                revenue_per_member_fen=revenue / n if n else None,
                lift=lift,
                p_value=p,
            )
        )
    srm_p = stats.sample_ratio_mismatch([a.exposed for a in out], [a.share_pct for a in arms])
    srm_warning = srm_p is not None and srm_p < SRM_ALPHA
    short = [
        a
        for a in out
        if a.exposed < AB_MIN_EXPOSED
        or a.converted < AB_MIN_OUTCOMES
        or a.exposed - a.converted < AB_MIN_OUTCOMES
    ]
    conclusive = not short and not srm_warning
    if srm_warning:
        verdict = (
            f"Sample ratio mismatch (p = {srm_p:.2g} < {SRM_ALPHA}): the arms' sizes are not"
            " the planned split, so the assignment or the logging is broken and no figure"
            " here can be trusted."
        )
    elif short:
        verdict = (
            "Too few members to conclude: every arm needs at least"
            f" {AB_MIN_EXPOSED} members given its coupon, {AB_MIN_OUTCOMES} who used it and"
            f" {AB_MIN_OUTCOMES} who did not (short: {', '.join(a.name for a in short)})."
        )
    else:
        # Bonferroni: with several arms against the control, each test at alpha / (arms - 1),
        # so that the chance of any false "significant" stays at alpha.
        alpha = AB_ALPHA / max(1, len(out) - 1)
        control = out[0]
        parts = []
        for a in out[1:]:
            assert a.rate is not None and control.rate is not None
            said = f"{a.name}: {_pct(a.rate)} against {_pct(control.rate)} for {control.name}"
            if a.lift is not None:
                said += f" (lift {a.lift:+.0%})"
            if a.p_value is not None and a.p_value < alpha:
                said += f", a real difference (p = {a.p_value:.2g} < {alpha:.3g})"
            else:
                said += f", no difference shown (p = {a.p_value or 1:.2g}, needs < {alpha:.3g})"
            parts.append(said)
        verdict = "; ".join(parts) + "."
    return ExperimentReport(
        experiment=experiment,
        at=at,
        arms=out,
        srm_p_value=srm_p,
        srm_warning=srm_warning,
        conclusive=conclusive,
        verdict=verdict,
    )
