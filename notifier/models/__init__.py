"""The tables, one module per entity group. Importing this package registers them all."""

from notifier.models.apikey import ApiKey, AuditEntry, ConsoleSession, Role
from notifier.models.base import Base
from notifier.models.calendar import CalendarDay, CalendarYear
from notifier.models.campaign import Campaign, CampaignStatus
from notifier.models.delivery import Delivery, DeliveryAttempt, DeliveryStatus
from notifier.models.enterprise import (
    Contact,
    EndpointSecret,
    Enterprise,
    EnterpriseSector,
    EnterpriseTag,
    EnterpriseTopic,
    Subscription,
)
from notifier.models.policy import Deadline, DeadlineDone, Policy, PolicyRevision
from notifier.models.provider import Provider
from notifier.models.reply import InboundReply
from notifier.models.template import MessageTemplate
from notifier.models.trigger import Trigger, TriggerKind, TriggerStatus

__all__ = [
    "ApiKey",
    "AuditEntry",
    "ConsoleSession",
    "Role",
    "Base",
    "CalendarDay",
    "CalendarYear",
    "Contact",
    "Deadline",
    "EndpointSecret",
    "DeadlineDone",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryStatus",
    "Enterprise",
    "EnterpriseSector",
    "EnterpriseTag",
    "EnterpriseTopic",
    "InboundReply",
    "Policy",
    "PolicyRevision",
    "Provider",
    "Subscription",
    "Trigger",
    "TriggerKind",
    "TriggerStatus",
    "Campaign",
    "CampaignStatus",
    "MessageTemplate",
]
