"""RM teams that share their customers' credit (setting `rm_team_credit_shares`, docs/crm.md).

The feeds name one relationship manager per customer (customers.rm_id), and the RM feed names
each RM's team (relationship_managers.team_id), but no feed says how a team splits what its
customers earn: that is the bank's policy, so it is configuration. An agreement names a team,
the day it takes effect and each member's share of the credit; a later agreement of the same
team replaces it from its own date (an agreement without shares ends the sharing). A customer
whose RM is a member of an agreement in force is credited to every member at their share
(bridge_customer_relationship_manager, fct_rm_scorecard_monthly); any other customer to their RM
alone.

`credit_rules` turns the agreements into what the dbt project reads (var `rm_credit_rules`): for
every RM named in an agreement, their whole timeline, one row per (period, credited RM): the
periods in which a team shares the RM's customers, and the periods between, in which the RM
keeps the whole credit. An RM no agreement names has no row (the whole credit, always). Done
here rather than in SQL: the agreements are a handful of settings, checked once when the
settings load (an RM in two teams at once is refused), and the model joins the result.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, field_validator

SHARE_QUANTUM = Decimal("0.0001")
"""credit_share is a decimal(5, 4) in the bridge: a configured share has at most four decimals."""


class RmTeamShares(BaseModel):
    """One team's agreement to share its customers' credit, from `valid_from` (or from the
    beginning of the data when absent) until the team's next agreement."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    team_id: str
    valid_from: date | None = None
    shares: dict[str, Decimal]
    """rm_id -> the member's share of every team customer's credit; they add up to exactly 1.
    Empty: from valid_from the team shares nothing."""

    @field_validator("shares")
    @classmethod
    def _whole(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for rm_id, share in value.items():
            if not 0 < share <= 1 or share != share.quantize(SHARE_QUANTUM):
                raise ValueError(
                    f"the share of {rm_id} must be above 0, at most 1 and have at most 4 decimals: {share}"
                )
        if value and (total := sum(value.values(), Decimal(0))) != 1:
            raise ValueError(f"the shares must add up to exactly 1, they add up to {total}: {value}")
        return value


CreditRule = dict[str, str | None]
"""A row of var rm_credit_rules: rm_id, valid_from, valid_to (ISO dates, null: open), credited_rm_id,
credit_share (a decimal as text: JSON has no decimal)."""


def credit_rules(agreements: list[RmTeamShares]) -> list[CreditRule]:
    """Every RM's credit timeline under `agreements` (module docstring); raises ValueError when a
    team has two agreements from one date or an RM is a member of two teams at once."""
    by_team: dict[str, list[RmTeamShares]] = defaultdict(list)
    for agreement in agreements:
        by_team[agreement.team_id].append(agreement)
    # each RM's memberships: (from, to, agreement), None for an open end
    memberships: dict[str, list[tuple[date | None, date | None, RmTeamShares]]] = defaultdict(list)
    for team_id, team in by_team.items():
        team.sort(key=lambda agreement: agreement.valid_from or date.min)
        starts = [agreement.valid_from or date.min for agreement in team]
        if len(set(starts)) < len(starts):
            raise ValueError(f"rm_team_credit_shares: team {team_id} has two agreements from the same date")
        ends: list[date | None] = [*starts[1:], None]
        for agreement, end in zip(team, ends, strict=True):
            for rm_id in agreement.shares:
                memberships[rm_id].append((agreement.valid_from, end, agreement))
    rules: list[CreditRule] = []
    for rm_id, spans in sorted(memberships.items()):
        spans.sort(key=lambda span: span[0] or date.min)
        cursor: date | None = None  # where the RM's timeline stands; None before the first span: the beginning
        for number, (start, end, agreement) in enumerate(spans):
            if number and (cursor is None or (start or date.min) < cursor):
                raise ValueError(
                    f"rm_team_credit_shares: {rm_id} is a member of team {agreement.team_id} from "
                    f"{start or 'the beginning'} while still a member of team {spans[number - 1][2].team_id}"
                )
            if start is not None and (number == 0 or cursor != start):
                rules.append(_rule(rm_id, cursor, start, rm_id, Decimal(1)))
            rules += [_rule(rm_id, start, end, member, share) for member, share in agreement.shares.items()]
            cursor = end
        if cursor is not None:
            rules.append(_rule(rm_id, cursor, None, rm_id, Decimal(1)))
    return rules


def _rule(rm_id: str, start: date | None, end: date | None, credited: str, share: Decimal) -> CreditRule:
    return {
        "rm_id": rm_id,
        "valid_from": start.isoformat() if start else None,
        "valid_to": end.isoformat() if end else None,
        "credited_rm_id": credited,
        "credit_share": str(share.quantize(SHARE_QUANTUM)),
    }
