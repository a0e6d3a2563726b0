"""Enterprise CSV files and policy files, written directly (fast) in notifier's input formats."""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stdnum.cn import uscc

from notifier.inputs.enterprise_csv import HEADER

PARK = "浙江省/宁波市/北仑区"
STREETS = ("大碶街道", "新碶街道", "小港街道", "霞浦街道", "柴桥街道")
SECTORS = ("C3670", "C3660", "C3611", "C3484", "C2651", "I6510", "C3670;C3484")
SIZES = ("large", "medium", "small", "micro")
CONTACT = {"sms": "phone", "email": "email", "webhook": "webhook_url"}


def credit_code(n: int) -> str:
    """A valid unified social credit code, distinct for each ``n`` below 10,000,000."""
    base = f"91330206MA{n:07d}"
    return base + uscc.calc_check_digit(base)


def region_of(n: int) -> str:
    """Regions spread over five streets with ten communities each."""
    street = STREETS[n % len(STREETS)]
    return f"{PARK}/{street}/第{(n // len(STREETS)) % 10 + 1}社区"


def enterprise_row(
    n: int, *, region: str, channels: str, hook_url: str, mail_domain: str
) -> list[str]:
    """One CSV row; each channel in ``channels`` gets its contact."""
    wanted = channels.split(";")
    return [
        credit_code(n),
        f"宁波基准制造有限公司{n}",
        SECTORS[n % len(SECTORS)],
        region,
        SIZES[n % len(SIZES)],
        f"138{n:08d}" if "sms" in wanted else "",
        f"e{n}@{mail_domain}" if "email" in wanted else "",
        hook_url.format(n=n) if "webhook" in wanted else "",
        "",
        channels,
        "",
    ]


@dataclass(frozen=True)
class Group:
    """Enterprises ``numbers`` in one region on the same channels."""

    numbers: range
    region: str | Callable[[int], str]
    channels: str | Callable[[int], str]
    hook_url: str = "https://hooks.example.com/{n}"
    mail_domain: str = "mail.example.com"


def write_enterprises(path: Path, *groups: Group) -> Path:
    """Write the groups' enterprises to one CSV file."""
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(HEADER)
        for group in groups:
            region, channels = group.region, group.channels
            for n in group.numbers:
                writer.writerow(
                    enterprise_row(
                        n,
                        region=region(n) if callable(region) else region,
                        channels=channels(n) if callable(channels) else channels,
                        hook_url=group.hook_url,
                        mail_domain=group.mail_domain,
                    )
                )
    return path


def mixed_channel(n: int) -> str:
    """One channel per enterprise, in turn: a fan-out of N enterprises makes N deliveries."""
    return ("sms", "email", "webhook")[n % 3]


BODY = (
    "为加快推进制造业高质量发展，支持企业实施技术改造，现将有关申报事项通知如下。"
    "一、支持对象：在北仑区注册的规模以上工业企业。二、支持内容：按设备投资额的10%给予补助，"
    "单个项目最高不超过500万元。三、申报材料：申报表、项目可行性报告、设备发票清单。"
) * 3


def write_policy(path: Path, *, targets: dict[str, Any], label: str) -> Path:
    """A policy file with a fresh ``ref``, so each publication is a new trigger."""
    policy = {
        "ref": f"bench-{label}-{uuid.uuid4().hex[:12]}",
        "title": f"北仑区汽车零部件产业技术改造补助申报通知（{label}）",
        "department": "北仑区经济和信息化局",
        "summary": "按设备投资额的10%给予补助，单个项目最高500万元",
        "body": BODY,
        "url": "https://www.bl.gov.cn/art/2026/6/1/art_1229.html",
        "topics": [],
        "targets": targets,
    }
    path.write_text(json.dumps(policy, ensure_ascii=False), encoding="utf-8")
    return path
