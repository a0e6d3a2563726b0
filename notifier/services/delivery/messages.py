"""Build the message a delivery sends: its template context, rendering and channel fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from notifier.channels.base import Message, Provider
from notifier.domain.channel_names import SMS, WEBHOOK
from notifier.domain.message_class import MessageClass, class_of, with_opt_out
from notifier.domain.number_caps import DIGEST_KIND
from notifier.domain.secret_box import SecretBox
from notifier.domain.sms_length import SmsCount
from notifier.domain.time_source import SYSTEM_TIME, TimeSource
from notifier.domain.tokens import (
    make_deadline_done_token,
    make_page_token,
    make_unsubscribe_token,
)
from notifier.errors import ConfigError, TransientError
from notifier.rendering.messages import Rendered, Renderer
from notifier.rendering.pinned import pinned_parts
from notifier.rendering.shared import Limits, SharedRenders
from notifier.rendering.stored import finish_stored
from notifier.services.delivery.kinds import KINDS, Kind, kind_of
from notifier.services.providers.endpoint_secrets import signing_secrets
from notifier.store.models import Delivery, Enterprise, Trigger

# The context's values that differ from one firm to the next; the rest is the trigger's, the same
# for everyone it reaches, so its rendering is shared (notifier.rendering.shared).
FIRM_NAMES = frozenset({"enterprise", "unsubscribe_url", "done_url", "page_url", "page_token"})


@dataclass(frozen=True)
class Composition:
    """A rendered message, and for SMS how carriers count it."""

    message: Message
    sms_count: SmsCount | None = None


@dataclass(frozen=True)
class MessageFactory:
    """Renders deliveries into messages.

    Parameters:
        renderer: the sandboxed templates.
        zone: the deployment's time zone, for the times messages show.
        secret_key: signs unsubscribe links.
        public_url: the base of links back to notifier.
        kinds: the trigger kinds it knows (``notifier.services.delivery.kinds.KINDS``).
        time_source: the time messages count from ("2 days left").
        box: opens webhook endpoints' own signing secrets (``secrets.keys``).
        opt_out: the text a marketing SMS ends with (``content.opt_out_text``).
        shared: the last few triggers' messages as rendered for all their firms, each firm's
            values filled in (threads may share it).
    """

    renderer: Renderer
    zone: tzinfo
    secret_key: str
    public_url: str
    kinds: Mapping[str, Kind] = field(default_factory=lambda: KINDS)
    time_source: TimeSource = SYSTEM_TIME
    box: SecretBox = field(default_factory=lambda: SecretBox([]), repr=False)
    opt_out: str = "拒收请回复R"
    shared: SharedRenders = field(default_factory=SharedRenders, repr=False, compare=False)

    def unsubscribe_url(self, enterprise_id: int, channel: str) -> str:
        """The signed one-click unsubscribe link for one enterprise and channel."""
        token = make_unsubscribe_token(
            self.secret_key, enterprise_id=enterprise_id, channel=channel
        )
        return f"{self.public_url.rstrip('/')}/u/{token}"

    def deadline_done_url(self, deadline_id: int, enterprise_id: int) -> str:
        """The signed link by which an enterprise says it has done a deadline."""
        token = make_deadline_done_token(
            self.secret_key, deadline_id=deadline_id, enterprise_id=enterprise_id
        )
        return f"{self.public_url.rstrip('/')}/d/{token}"

    def page_token(self, policy_id: int, enterprise_id: int) -> str:
        """The signed token of the policy's page for one firm (about 24 characters)."""
        return make_page_token(self.secret_key, policy_id=policy_id, enterprise_id=enterprise_id)

    def page_url(self, token: str) -> str:
        """The link to the firm's page of a policy: ``/p/`` and its :meth:`page_token`."""
        return f"{self.public_url.rstrip('/')}/p/{token}"

    def context(self, delivery: Delivery) -> dict[str, Any]:
        """The template context of a delivery.

        Raises:
            TriggerError: its trigger's kind is not handled or lacks what the kind needs.
        """
        kind = kind_of(delivery.trigger, self.kinds)
        trigger = delivery.trigger
        links: dict[str, Any] = {}
        if trigger.deadline_id is not None:
            links["done_url"] = self.deadline_done_url(trigger.deadline_id, delivery.enterprise_id)
        if trigger.policy is not None:
            # A preview's policy is not stored yet: 0 shows a link of the same length.
            token = self.page_token(trigger.policy.id or 0, delivery.enterprise_id)
            # The token alone too, for a vendor SMS template whose approved text holds the
            # fixed "https://host/p/": the vendors refuse a whole link as a parameter.
            links.update(page_url=self.page_url(token), page_token=token)
        return {
            "enterprise": enterprise_view(
                delivery.enterprise, full=trigger.campaign_id is not None
            ),
            **kind.context(delivery.trigger, self.zone, self.time_source.now()),
            "unsubscribe_url": self.unsubscribe_url(delivery.enterprise_id, delivery.channel),
            "public_url": self.public_url,
            **links,
        }

    def compose(self, delivery: Delivery, provider: Provider) -> Composition:
        """Render the delivery for its channel, as ``provider`` will send it.

        Raises:
            TemplateError: the template failed or the SMS is too long.
            TriggerError: see :meth:`context`.
        """
        context = self.context(delivery)
        kind = delivery.trigger.kind
        rendered = self._render(delivery.trigger, delivery.channel, context)
        text = rendered.text
        if delivery.channel == SMS and class_of(delivery.message_class) == MessageClass.MARKETING:
            # The carriers' rule: a marketing SMS says how to refuse more (counted in its parts).
            text = with_opt_out(text, self.opt_out)
        # The provider finishes the text: an SMS account adds its signature and counts parts.
        composed = provider.compose_message(kind, context, text, to=delivery.address)
        payload: dict[str, Any] = dict(composed.payload or {})
        secrets: tuple[str | None, ...] = (None,)
        if delivery.channel == WEBHOOK:
            payload = webhook_payload(kind, context, composed.text, delivery.reason)
            secrets = self.signing_secrets(delivery)
        message = Message(
            delivery_id=delivery.id,
            idempotency_key=delivery.idempotency_key,
            to=delivery.address,
            text=composed.text,
            subject=rendered.subject,
            html=rendered.html,
            payload=payload,
            unsubscribe_url=context["unsubscribe_url"],
            signing_secrets=secrets,
        )
        return Composition(message=message, sms_count=composed.sms_count)

    def signing_secrets(self, delivery: Delivery) -> tuple[str | None, ...]:
        """The secrets that sign a webhook delivery now (see
        :mod:`notifier.services.providers.endpoint_secrets`).

        Raises:
            TransientError: the endpoint's secret cannot be decrypted (a key was removed from
                ``secrets.keys``); it may pass once the key is back, never with another secret.
        """
        row = next(
            (
                contact.signing_secret
                for contact in delivery.enterprise.contacts
                if contact.channel == WEBHOOK and contact.address == delivery.address
            ),
            None,
        )
        try:
            return signing_secrets(row, self.box, self.time_source.now())
        except ConfigError as exc:
            raise TransientError(str(exc)) from None

    def _render(self, trigger: Trigger, channel: str, context: dict[str, Any]) -> Rendered:
        # A campaign run renders the stored templates it pinned; other kinds the shipped ones.
        # What every firm of the trigger shares is rendered once (see FIRM_NAMES).
        limits = Limits(channel, self.renderer.max_chars, self.renderer.max_seconds)
        key = (trigger.id, trigger.kind, channel)
        if trigger.templates is not None:
            parts = pinned_parts(trigger.templates, channel)
            rendered = self.shared.render(key, parts, context, FIRM_NAMES, limits=limits)
            return finish_stored(rendered, channel)
        return self.shared.render(
            key, self.renderer.parts(trigger.kind, channel), context, FIRM_NAMES,
            limits=limits, resolve=self.renderer.template,
        )

    def build(self, delivery: Delivery, provider: Provider) -> Message:
        """The message ``provider`` sends for the delivery; see :meth:`compose`."""
        return self.compose(delivery, provider).message

    def digest(self, delivery: Delivery, provider: Provider, count: int) -> Message:
        """One SMS standing for ``count`` deliveries held over their number's daily cap
        (``delivery`` the first of them, which carries it): how many, and a link to the firm's
        page of its policy, else to notifier ("您有 3 条政策通知，详见…"). A vendor account sends
        it as its kind ``sms_digest`` template (``count``, ``page_url``, ``page_token``).

        Raises:
            TemplateError: the provider cannot send it (a vendor account without that template).
        """
        links: dict[str, Any] = {"page_url": self.public_url, "page_token": ""}
        if delivery.trigger.policy is not None:
            token = self.page_token(delivery.trigger.policy.id, delivery.enterprise_id)
            links = {"page_url": self.page_url(token), "page_token": token}
        marketing = delivery.message_class == MessageClass.MARKETING
        what = "政策信息" if marketing else "政策通知"
        text = f"您有 {count} 条{what}，详见 {links['page_url']}"
        if marketing:
            text = with_opt_out(text, self.opt_out)
        unsubscribe = self.unsubscribe_url(delivery.enterprise_id, delivery.channel)
        context = {
            "enterprise": enterprise_view(delivery.enterprise), "count": count,
            "unsubscribe_url": unsubscribe, "public_url": self.public_url, **links,
        }  # fmt: skip
        composed = provider.compose_message(DIGEST_KIND, context, text, to=delivery.address)
        return Message(
            delivery_id=delivery.id,
            idempotency_key=delivery.idempotency_key,
            to=delivery.address,
            text=composed.text,
            payload=dict(composed.payload or {}),
            unsubscribe_url=unsubscribe,
        )


# The size words a district register writes, for campaign templates (大型, 中型...).
_SIZE_NAMES = {"large": "大型", "medium": "中型", "small": "小型", "micro": "微型"}


def enterprise_view(enterprise: Enterprise, *, full: bool = False) -> dict[str, Any]:
    """What templates see of the enterprise; ``full`` (campaign templates) adds sector, region
    and size."""
    view = {"name": enterprise.name, "credit_code": enterprise.credit_code}
    if full:
        view["sector"] = "、".join(sector.code for sector in enterprise.sectors)
        view["region"] = enterprise.region
        view["size"] = _SIZE_NAMES.get(enterprise.size, enterprise.size)
    return view


def webhook_payload(
    kind: str, context: Mapping[str, Any], text: str, reason: Mapping[str, Any]
) -> dict[str, Any]:
    """The JSON body a webhook receiver gets."""
    return {
        "type": kind.replace("_", "."),
        "enterprise": context["enterprise"],
        "policy": context.get("policy"),
        "deadline": context.get("deadline"),
        "text": text,
        "reason": dict(reason),
        "unsubscribe_url": context["unsubscribe_url"],
        **({"done_url": context["done_url"]} if "done_url" in context else {}),
        **({"page_url": context["page_url"]} if "page_url" in context else {}),
        **({"correction": context["correction"]} if "correction" in context else {}),
        **({"campaign": context["campaign"]} if "campaign" in context else {}),
        **({"resent": context["resent"]} if "resent" in context else {}),
    }

