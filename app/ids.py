import uuid_utils


def new_id() -> str:
    """A UUIDv7: opaque to clients, but time-ordered, which keeps B-tree inserts local."""
    return str(uuid_utils.uuid7())
