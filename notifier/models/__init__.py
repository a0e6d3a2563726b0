"""The tables, one module per entity group. Importing this package registers them all."""

from notifier.models.apikey import ApiKey, AuditEntry, Role
from notifier.models.base import Base
from notifier.models.delivery import Delivery, DeliveryAttempt, DeliveryStatus
from notifier.models.enterprise import (
    Contact,
    Enterprise,
    EnterpriseSector,
    EnterpriseTag,
    EnterpriseTopic,
    Subscription,
)
from notifier.models.policy import Deadline, DeadlineDone, Policy
from notifier.models.provider import Provider
from notifier.models.trigger import Trigger, TriggerKind, TriggerStatus

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Role",
    "Base",
    "Contact",
    "Deadline",
    "DeadlineDone",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryStatus",
    "Enterprise",
    "EnterpriseSector",
    "EnterpriseTag",
    "EnterpriseTopic",
    "Policy",
    "Provider",
    "Subscription",
    "Trigger",
    "TriggerKind",
    "TriggerStatus",
]
