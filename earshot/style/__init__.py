"""Style transfer and texture synthesis with deep audio features (see `earshot.style.transfer`)."""

from earshot.style.transfer import TransferResult, transfer

__all__ = ["TransferResult", "transfer"]
