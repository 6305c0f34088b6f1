"""The preset editor's drafts. The Qt-free code lives in :mod:`sandbox.drafts`; this name is
kept so existing imports keep working."""

from sandbox.drafts import (DRAFT_FORMAT, Draft, DraftError, delete_draft, draft_path, drafts_dir,  # noqa: F401
                            dumps_draft, find_draft, read_draft, set_aside, write_draft)

__all__ = ["DRAFT_FORMAT", "Draft", "DraftError", "drafts_dir", "draft_path", "find_draft",
           "dumps_draft", "write_draft", "read_draft", "delete_draft", "set_aside"]
