from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from itertools import count
from uuid import UUID

import uuid_utils

# Set while the bundled seed loads into an empty database (see reproducible_ids).
_sequence: ContextVar[Iterator[int] | None] = ContextVar("id_sequence", default=None)
# 2002-01-01T00:00:00Z in milliseconds: the month the CCQS was founded.
SEED_EPOCH_MS = 1_009_843_200_000


def new_id() -> str:
    """A UUIDv7: opaque to clients, but time-ordered, which keeps B-tree inserts local."""
    sequence = _sequence.get()
    if sequence is not None:
        return _seed_id(next(sequence))
    return str(uuid_utils.uuid7())


def _seed_id(number: int) -> str:
    """The `number`th id of a reproducible run: a UUIDv7 of a fixed instant whose random
    bits are the number, so that the ids keep the order in which records were made."""
    return str(UUID(int=SEED_EPOCH_MS << 80 | 0x7 << 76 | 0b10 << 62 | number))


@contextmanager
def reproducible_ids() -> Iterator[None]:
    """Ids made inside are the same at every run that makes the same records in the same
    order: `entente seed` on an empty database gives the CCQS records the ids that the
    OpenAPI examples name (app/openapi_examples.py). Only for a database that holds no
    record yet, where no id of an earlier run can be taken already."""
    token = _sequence.set(count(1))
    try:
        yield
    finally:
        _sequence.reset(token)
