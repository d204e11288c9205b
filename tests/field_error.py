"""Assert that a call fails with one podsim error line naming the field (and the value)."""

from __future__ import annotations

import pytest

from podsim.errors import PodsimError


def raises_field(fn, *args, field: str, value=None, cls=PodsimError, **kw) -> str:
    """Call ``fn``; it must raise ``cls`` for ``field`` (showing ``value`` when given) in one
    line without a traceback. Returns the message."""
    with pytest.raises(cls) as exc:
        fn(*args, **kw)
    msg = str(exc.value)
    assert exc.value.field == field, msg
    assert f"field '{field}'" in msg, msg
    if value is not None:
        assert repr(value) in msg, msg
    assert "Traceback" not in msg and "\n" not in msg, msg
    return msg
