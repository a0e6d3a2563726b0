"""A delivery's message as the staff see it on its page: composed again from its trigger (whose
templates and facts were pinned when it was made), for the enterprise and address it went to,
so the text is the one the firm received. Nothing is sent or stored."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from notifier.errors import NotFoundError
from notifier.services.context import Context
from notifier.services.delivery.previews import PreviewComposer, Rendering
from notifier.store.models import Deadline, Delivery, Enterprise, Policy, Trigger


def delivery_message(context: Context, delivery_id: int) -> Rendering:
    """The text (and subject, SMS length and parts) of delivery ``delivery_id``, or why it
    cannot be composed now (its channel has no provider any more, say).

    The rows are read first and the session closed: the render and any provider reload run
    outside a transaction (see :class:`PreviewComposer`).

    Raises:
        NotFoundError: no such delivery.
    """
    query = (
        select(Delivery)
        .where(Delivery.id == delivery_id)
        .options(
            selectinload(Delivery.enterprise).selectinload(Enterprise.contacts),
            # Everything a message kind reads, loaded now: the render runs detached.
            selectinload(Delivery.trigger).options(
                selectinload(Trigger.policy).options(
                    selectinload(Policy.deadlines), selectinload(Policy.revisions)
                ),
                selectinload(Trigger.deadline).selectinload(Deadline.policy),
                selectinload(Trigger.campaign),
            ),
        )
    )
    with context.sessions() as session:
        delivery = session.scalars(query).first()
        if delivery is None:
            raise NotFoundError(f"发送 delivery {delivery_id} 不存在 does not exist")
        session.expunge_all()
    composer = PreviewComposer(context.catalog, context.messages)
    return composer.rendering(delivery, delivery.enterprise.credit_code)
