"""Where the domain still meets untyped dicts (transitional, issue 12).

The domain is checked with ``disallow_any_explicit``: stored items and JSON documents arrive
as ``Mapping[str, object]`` (read with ``isinstance``) or as TypedDicts. A few values are
still read field by field, untyped, by the coupons, loyalty and delivery services, which are
being refactored on their own branches; typing them here first would break those readers.
They use ``Untyped``, the one explicit ``Any`` left in the domain (.mypy.ini exempts this
module only). When those services read them through TypedDicts, this alias goes.
"""

from __future__ import annotations

from typing import Any

Untyped = dict[str, Any]
