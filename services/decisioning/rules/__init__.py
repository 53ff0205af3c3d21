"""The threshold rule engine: rule packs as data, a small interpreter, and `assess`.

Rules, reasons and deadlines live in versioned JSON packs (`packs/<name>/<version>.json`, format in
`packs/README.md`) so that a regime change is a new pack and every old recommendation can be replayed
under the exact pack version that made it (rules.md section 7). A pack's `decisions` section (from 1.1.0)
says what the Chair's decisions mean; `decisions.py` answers questions about it.
"""

from services.decisioning.rules.calendar import add_months, add_period, add_working_days, is_working_day
from services.decisioning.rules.conditions import FACT_DOMAINS, PackError
from services.decisioning.rules.decision_section import DecisionRules, Independence
from services.decisioning.rules.decisions import (
    agrees,
    choose_methodology,
    commissions_review,
    decision_deadlines,
    decision_pack,
    departs,
    independence_for,
)
from services.decisioning.rules.engine import Verdict, assess, decide
from services.decisioning.rules.packs import (
    PackNotFound,
    RulePack,
    available_packs,
    choose_pack,
    load_pack,
    parse_pack,
)

__all__ = [
    "FACT_DOMAINS",
    "DecisionRules",
    "Independence",
    "PackError",
    "PackNotFound",
    "RulePack",
    "Verdict",
    "add_months",
    "add_period",
    "add_working_days",
    "agrees",
    "assess",
    "available_packs",
    "choose_methodology",
    "choose_pack",
    "commissions_review",
    "decide",
    "decision_deadlines",
    "decision_pack",
    "departs",
    "independence_for",
    "is_working_day",
    "load_pack",
    "parse_pack",
]
