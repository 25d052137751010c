import json
from types import MappingProxyType

from migrator.core.jsonable import plain


def test_mappings_and_sequences_become_dicts_and_lists_at_any_depth():
    value = MappingProxyType({"a": (1, {"b": MappingProxyType({"c": [2, (3,)]})}), 4: None})
    assert plain(value) == {"a": [1, {"b": {"c": [2, [3]]}}], "4": None}
    assert json.loads(json.dumps(plain(value))) == plain(value)


def test_anything_else_is_as_is():
    assert plain(None) is None
    assert plain("text") == "text"
    assert plain(1.5) == 1.5
