"""The idempotency key the database computes is the key Python computed for older rows, so a
fan-out run again after an upgrade makes no second delivery."""

from __future__ import annotations

import pytest
from sqlalchemy import literal, select

from notifier.store.db import create_db_engine, create_session_factory
from notifier.store.deliveries import IdempotencyKey, idempotency_key, with_key_function

PARTS = [
    ("policy_published:17", "91330206MA2H0001X1", "sms", "+8613800000001"),
    ("campaign:3:2026-06-01T08:00", "91330206MA2H0002X2", "email", "张三@例子.中国"),
    ("policy_published:宁波", "统一社会信用代码", "webhook", "https://hooks.example.cn/钩子?a=1|b"),
    ("", "", "", ""),
    ("deadline:9:7", "91330206MA2H0003X3", "webhook", "https://例子.cn/" + "长" * 1500),
    ("emoji", "🏭", "sms", "𠀀 and ı, ß, é (e\u0301)"),
]


@pytest.mark.parametrize("parts", PARTS, ids=range(len(PARTS)))
def test_the_key_the_database_computes_equals_the_python_key(database_url, parts):
    engine = create_db_engine(database_url)
    try:
        with create_session_factory(engine)() as session:
            with_key_function(session)
            computed = session.scalar(select(IdempotencyKey(*(literal(p) for p in parts))))
        assert computed == idempotency_key(*parts)
        assert len(computed) == 40
    finally:
        engine.dispose()
