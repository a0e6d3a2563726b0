"""Print a policy preview for people: counts, samples, renderings, SMS cost, warnings."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from notifier.domain.channel_names import SMS
from notifier.services.policies.preview import Preview


def print_preview(preview: Preview, console: Console | None = None) -> None:
    """Write ``preview`` to the terminal (user data escaped, never taken as markup)."""
    console = console or Console()
    counts = ", ".join(f"{channel} {n}" for channel, n in preview.recipients.items())
    console.print(
        f"预览 preview: {preview.enterprises} 家企业 enterprises, "
        f"{preview.deliveries} 条消息 deliveries ({counts})",
        highlight=False,
    )
    if preview.samples:
        table = Table("credit code", "enterprise", "channel", "why reached", title="samples")
        for sample in preview.samples:
            why = ", ".join(f"{k}={v}" for k, v in sample.reason.items())
            table.add_row(
                escape(sample.credit_code), escape(sample.name), sample.channel, escape(why)
            )
        console.print(table)
    for channel, rendering in preview.renderings.items():
        console.print(f"[bold]{channel}[/bold] ({escape(rendering.credit_code)}):")
        if rendering.error:
            console.print(f"  [red]{escape(rendering.error)}[/red]")
            continue
        if rendering.subject:
            console.print(f"  subject: {escape(rendering.subject)}", highlight=False)
        console.print(escape(rendering.text or ""), highlight=False, soft_wrap=True)
        if rendering.sms_length is not None:
            console.print(
                f"  {rendering.sms_length} 字 characters, {rendering.sms_parts} 条计费 part(s)",
                highlight=False,
            )
    if preview.recipients.get(SMS):
        note = " (estimated)" if preview.sms_billed_parts_estimated else ""
        console.print(f"SMS 计费条数 billed parts in total: {preview.sms_billed_parts}{note}")
    for warning in preview.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)
    # The content rules' findings: a refusal is what publishing would refuse.
    for found in preview.content:
        word = "[red]refused:[/red]" if found["refuses"] else "[yellow]warning:[/yellow]"
        console.print(f"{word} {escape(found['message'])}", highlight=False)
