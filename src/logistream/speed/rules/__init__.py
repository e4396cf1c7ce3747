"""The alert rules: pure functions of a truck's rule state and one reading, returning verdicts.

Each module owns one family of rules and the small frozen state it needs; ``engine`` runs them
all and turns verdicts into alert changes. Thresholds come from ``rules.toml`` and the registry.
"""

from logistream.events import RULE_NAMES
from logistream.registry.rules import RulesConfig, load_rules_config
from logistream.speed.rules.base import Clear, Raise, RuleContext, Verdict

__all__ = [
    "RULE_NAMES",
    "Clear",
    "Raise",
    "RuleContext",
    "RulesConfig",
    "Verdict",
    "load_rules_config",
]
