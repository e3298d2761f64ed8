"""genlab's typed errors: every message says what was wrong and what to do."""


class GenlabError(Exception):
    """Base class for genlab's typed errors."""


class UnknownModelError(GenlabError, ValueError):
    """A model name that is not shipped, not a folder and not a Hub repo id."""


class CheckpointError(GenlabError):
    """A checkpoint that is missing files, corrupt, of the wrong type, or pickled."""


class HubNotCachedError(CheckpointError):
    """A Hub repo that is not in the local cache while the Hub cannot be reached."""


class ImageInputError(GenlabError, ValueError):
    """An uploaded image genlab cannot use: unreadable, too large, blank, ..."""


class DatasetError(GenlabError, ValueError):
    """A training/evaluation folder genlab cannot use: missing, empty, a class too small, ..."""
