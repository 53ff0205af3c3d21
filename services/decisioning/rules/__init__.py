"""The threshold rule engine: rule packs as data, a small interpreter, and `assess`.

Rules, reasons and deadlines live in versioned JSON packs (`packs/<name>/<version>.json`, format in
`packs/README.md`) so that a regime change is a new pack and every old recommendation can be replayed
under the exact pack version that made it (rules.md section 7).
"""

from services.decisioning.rules.calendar import add_months, add_working_days, is_working_day
from services.decisioning.rules.conditions import FACT_DOMAINS, PackError
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
    "PackError",
    "PackNotFound",
    "RulePack",
    "Verdict",
    "add_months",
    "add_working_days",
    "assess",
    "available_packs",
    "choose_pack",
    "decide",
    "is_working_day",
    "load_pack",
    "parse_pack",
]
