"""The moto speed-up used by delivery tests and benches keeps transactions atomic."""

from __future__ import annotations

import pytest

from bench.moto_fast import fast_transactions
from chalicelib.adapters import aws
from chalicelib.adapters.dynamo import TransactionCancelled, translated


def test_a_cancelled_transaction_leaves_every_item_as_it_was(moto_stack):
    table = aws.table()
    table.put_item(Item={"PK": "A", "SK": "1", "n": 1})
    table.put_item(Item={"PK": "B", "SK": "1", "n": 5})
    items = [
        {"Update": {"TableName": table.name, "Key": {"PK": "A", "SK": "1"},
                    "UpdateExpression": "SET n = :two", "ExpressionAttributeValues": {":two": 2}}},
        {"Put": {"TableName": table.name, "Item": {"PK": "C", "SK": "1"}}},
        {"Update": {"TableName": table.name, "Key": {"PK": "B", "SK": "1"},
                    "UpdateExpression": "SET n = :x", "ConditionExpression": "n = :nope",
                    "ExpressionAttributeValues": {":x": 9, ":nope": 0}}},
    ]
    with fast_transactions(), pytest.raises(TransactionCancelled) as e, translated():
        table.meta.client.transact_write_items(TransactItems=items)
    assert e.value.failed(2)
    assert table.get_item(Key={"PK": "A", "SK": "1"})["Item"]["n"] == 1
    assert "Item" not in table.get_item(Key={"PK": "C", "SK": "1"})
    with fast_transactions():
        table.meta.client.transact_write_items(TransactItems=items[:2])
    assert table.get_item(Key={"PK": "A", "SK": "1"})["Item"]["n"] == 2
