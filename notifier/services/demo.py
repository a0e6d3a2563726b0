"""The demo park: enterprises of 灵峰工业社区 and 新碶工业社区 (the two communities, each with
its region), two departments and two policies, delivered through dry-run."""

from __future__ import annotations

import csv
import io
from typing import Any

from stdnum.cn import uscc

from notifier.inputs.enterprise_csv import HEADER
from notifier.services.communities import operations as communities
from notifier.services.context import Context

REGION = "浙江省/宁波市/北仑区/大碶街道/灵峰工业社区"
OTHER_REGION = "浙江省/宁波市/北仑区/小港街道/新碶工业社区"

# (name, sectors, size, channels, topics, tags)
_FIRMS: list[tuple[str, str, str, str, str, str]] = [
    ("宁波灵峰汽车零部件有限公司", "C3670", "medium", "sms;email;webhook", "", "高新技术企业;规上"),
    ("宁波北仑精密模具有限公司", "C3525", "small", "sms;email", "税费;补贴", "专精特新"),
    ("宁波大碶新能源汽车电机有限公司", "C3812", "large", "email;webhook", "", "规上"),
    ("宁波港城汽车饰件有限公司", "C3670", "small", "sms", "安全生产", ""),
    ("宁波戚家山化工有限公司", "C2614", "medium", "sms;email", "安全生产;环保", "规上"),
    ("宁波小港压铸科技有限公司", "C3391", "micro", "sms;email", "补贴", ""),
    ("宁波梅山跨境贸易有限公司", "F5179", "small", "email", "税费", ""),
    ("宁波北仑智能装备有限公司", "C3490", "medium", "sms;webhook", "", "高新技术企业"),
    ("宁波霞浦汽车电子有限公司", "C3670", "micro", "sms;email", "税费", ""),
    ("宁波新碶软件科技有限公司", "I6513", "micro", "email;webhook", "补贴;人才", "高新技术企业"),
    ("宁波春晓港口物流有限公司", "G5431", "large", "email", "", "规上"),
    ("宁波白峰船舶配件有限公司", "C3734", "small", "sms", "", ""),
]


def _credit_code(number: int) -> str:
    base = f"91330206MA2{number:06d}"
    return base + uscc.calc_check_digit(base)


def enterprises_csv() -> str:
    """The demo enterprises as an import file (the same path a real import takes)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for number, (name, sectors, size, channels, topics, tags) in enumerate(_FIRMS, start=1):
        region = REGION if number % 3 else OTHER_REGION
        slug = f"firm{number:02d}"
        webhook = f"https://hooks.example.cn/{slug}" if "webhook" in channels else ""
        writer.writerow(
            [
                _credit_code(number), name, sectors, region, size,
                f"1380000{number:04d}", f"contact@{slug}.example.cn", webhook,
                topics, channels, tags,
            ]
        )
    return out.getvalue()


UNSUBSCRIBED = _credit_code(4)  # 宁波港城汽车饰件 asked to hear nothing more

POLICIES: list[dict[str, Any]] = [
    {
        "ref": "demo-2026-auto-parts-subsidy",
        "title": "北仑区2026年汽车零部件产业技术改造补助申报通知",
        "department": "北仑区经济和信息化局",
        "summary": (
            "对汽车零部件企业2026年完成的技术改造项目，"
            "按设备投资额的10%给予补助，最高200万元。"
        ),
        "body": (
            "申报对象：在北仑区注册的汽车制造业（C36）企业。"
            "申报材料：项目备案、设备发票、审计报告。"
        ),
        "url": "https://www.bl.gov.cn/demo/policy/auto-parts-subsidy",
        "topics": ["补贴"],
        "targets": {"sectors": ["C36"], "regions": ["浙江省/宁波市/北仑区"]},
        "deadlines": [{"title": "技术改造补助申报", "due_at": "2026-12-31T17:00:00+08:00"}],
    },
    {
        "ref": "demo-2026-small-micro-tax-relief",
        "title": "小型微利企业所得税优惠政策延续执行的公告",
        "department": "国家税务总局宁波市北仑区税务局",
        "summary": (
            "小型微利企业年应纳税所得额不超过300万元的部分，"
            "减按25%计入应纳税所得额，按20%税率缴纳。"
        ),
        "body": "",
        "url": "https://www.bl.gov.cn/demo/policy/small-micro-tax",
        "topics": ["税费"],
        "targets": {"sizes": ["small", "micro"]},
    },
]


# The park's communities (name: regions) and the departments of its policies.
COMMUNITIES: dict[str, list[str]] = {"灵峰工业社区": [REGION], "新碶工业社区": [OTHER_REGION]}
DEPARTMENTS = ("北仑区经济和信息化局", "国家税务总局宁波市北仑区税务局")


def seed_shape(context: Context) -> None:
    """Add the park's communities and departments that are not there yet (a demo run again
    adds nothing)."""
    known = {str(c["name"]) for c in communities.list_communities(context.sessions)}
    for name, regions in COMMUNITIES.items():
        if name not in known:
            communities.add_community(context, name, regions)
    departments = {str(d["name"]) for d in communities.list_departments(context.sessions)}
    for department in DEPARTMENTS:
        if department not in departments:
            communities.add_department(context, department)
