"""`python -m loadtest`: the plan it hands locust and the arguments it refuses."""

from __future__ import annotations

import pytest

from loadtest.__main__ import constant_rate, main


@pytest.mark.parametrize(
    ("rate", "patience", "users", "user_rate"),
    [(5, 2, 10, 0.5), (5, 1, 5, 1.0), (0.5, 2, 1, 0.5), (3, 0.5, 2, 1.5)],
)
def test_constant_rate_plans_users_that_together_send_the_rate(
    rate: float, patience: float, users: int, user_rate: float
) -> None:
    plan = constant_rate(rate, patience)
    assert (plan.users, plan.user_rate) == (users, user_rate)
    assert plan.users * plan.user_rate == pytest.approx(rate)
    assert plan.spawn_rate == plan.users  # all at once: the schedule staggers them


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--host", "http://x", "--rate", "0"],
        ["check", "--host", "http://x", "--patience", "-1"],
        ["check", "--host", "http://x", "--put-ratio", "1.5"],
        ["run", "--host", "http://x", "--users", "0"],
        ["run", "--host", "http://x", "--spawn-rate", "0"],
        ["run", "--host", "http://x", "--stack", "both"],
        ["run"],
    ],
)
def test_refuses_arguments_that_cannot_make_a_run(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code not in (0, None)
