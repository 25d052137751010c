import pytest

from migrator.core.errors import NotFoundError
from migrator.data.aws import aws_errors


def test_unknown_table_becomes_not_found_with_a_hint(moto):
    with pytest.raises(NotFoundError) as caught, aws_errors("describe table Nope", what="table Nope"):
        moto.dynamodb.describe_table(TableName="Nope")
    assert "table Nope does not exist" in str(caught.value)
    assert caught.value.exit_code == 2
