"""The estimate's arithmetic (edge/waitlist/estimate.py): tables freeing up in turn."""

from edge.waitlist import estimate

TURN = 3600.0


def test_a_free_table_means_no_wait_and_then_turns_follow() -> None:
    assert estimate.wait(0, 2, [], TURN).mid_s == 0.0
    # Two tables, both just sat down: the 1st party waits a turn, the 3rd two turns.
    assert estimate.wait(0, 2, [0.0, 0.0], TURN).mid_s == TURN
    assert estimate.wait(2, 2, [0.0, 0.0], TURN).mid_s == 2 * TURN


def test_tables_half_way_through_free_up_half_a_turn_from_now() -> None:
    assert estimate.wait(0, 1, [TURN / 2], TURN).mid_s == TURN / 2
    # A party past its turn is about to leave, not already gone.
    assert estimate.wait(0, 1, [2 * TURN], TURN).mid_s == TURN * estimate.OVERDUE_FLOOR


def test_parties_that_will_not_come_shorten_the_wait_and_the_range_holds_it() -> None:
    full = estimate.wait(4, 1, [0.0], TURN)
    dropped = estimate.wait(4, 1, [0.0], TURN, drop=0.25)
    assert dropped.mid_s == 4 * TURN < full.mid_s == 5 * TURN
    assert full.low_s < full.mid_s < full.high_s
    low, high = full.minutes
    assert low <= full.mid_s / 60 <= high


def test_the_store_s_own_turn_time_once_it_has_enough() -> None:
    assert estimate.turn_time([1800.0] * 4, TURN) == TURN  # too few: HQ's default
    assert estimate.turn_time([1800.0] * 5, TURN) == 1800.0
    assert estimate.turn_time([1200.0, 2400.0] * 3, TURN) == 1800.0  # the mean
    assert estimate.turn_time([10.0] * 50, TURN) == TURN  # paid at once: not a turn time
    assert estimate.drop_share(0, 0) == estimate.DROP_PRIOR
    assert estimate.naive(3, 2, TURN) == 1.5 * TURN
