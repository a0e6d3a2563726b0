"""The tables, one module per entity group. Importing this package registers them all."""

from notifier.store.models.apikey import ApiKey, AuditEntry, ConsoleSession, Role
from notifier.store.models.base import Base
from notifier.store.models.calendar import CalendarDay, CalendarYear
from notifier.store.models.campaign import Campaign, CampaignStatus
from notifier.store.models.delivery import Delivery, DeliveryAttempt, DeliveryStatus
from notifier.store.models.enterprise import (
    Contact,
    EndpointSecret,
    Enterprise,
    EnterpriseSector,
    EnterpriseTag,
    EnterpriseTopic,
    Subscription,
)
from notifier.store.models.import_heading import ImportHeading
from notifier.store.models.policy import Deadline, DeadlineDone, Policy, PolicyRevision
from notifier.store.models.provider import ProviderAccount
from notifier.store.models.provider_usage import ProviderUsage
from notifier.store.models.reach import PolicyReach, ReachEvent, ReachKind
from notifier.store.models.reply import Complaint, InboundReply, NumberRefusal
from notifier.store.models.template import MessageTemplate
from notifier.store.models.trigger import Trigger, TriggerKind, TriggerStatus
from notifier.store.models.user import User

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
    "ImportHeading",
    "EnterpriseTopic",
    "InboundReply",
    "NumberRefusal",
    "Complaint",
    "PolicyReach",
    "ReachEvent",
    "ReachKind",
    "Policy",
    "PolicyRevision",
    "ProviderAccount",
    "ProviderUsage",
    "Subscription",
    "Trigger",
    "TriggerKind",
    "TriggerStatus",
    "Campaign",
    "CampaignStatus",
    "MessageTemplate",
    "User",
]
