"""The tool's own error types: every user-facing failure is one of these."""


class SpiketuneError(ValueError):
    """Base class: a problem with the user's input, named clearly."""


class ArchError(SpiketuneError):
    """A malformed architecture string; names the bad token and its position."""


class ConfigError(SpiketuneError):
    """An invalid or inconsistent configuration value."""


class DatasetError(SpiketuneError):
    """A dataset that is missing, corrupt or unknown; names the file or directory."""


class DatasetMissingError(DatasetError):
    """A dataset whose files are not there (as opposed to present but corrupt)."""


class TraceError(SpiketuneError):
    """A spike-trace folder that is missing, corrupt or of an unknown version."""


def describe_validation(e) -> str:
    """One line per field of a pydantic ValidationError: 'a.b: message (got value)'."""
    parts = []
    for err in e.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "config"
        parts.append(f"{loc}: {err['msg']} (got {err.get('input')!r})")
    return "; ".join(parts)


class FolderLocked(SpiketuneError):
    """A results folder another process is writing; names the holder."""
