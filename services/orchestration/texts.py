"""Free text about people, kept in the board's erasable store and referenced from events by id and hash.

`lif.erasable.ErasableStore` is the store in production; anything with the same two methods will do
(the unit tests use a dictionary). Reading returns None once a text has been erased: views then show the
event's facts without the text, and history is never rewritten.
"""

from __future__ import annotations

from typing import Protocol
from uuid import UUID, uuid4

from events.decisioning import DocumentRef
from lif.erasable import text_sha256


class TextStore(Protocol):
    def put_document(self, document_id: UUID, lscb: str, case_id: UUID, kind: str, body: str) -> str: ...

    def get(self, detail_id: UUID, lscb: str) -> str | None: ...

    def discard(self, detail_id: UUID, lscb: str) -> None: ...


class PendingTexts:
    """The texts of one command: references now, written to the store only once the command is accepted.

    A refused command therefore leaves no text about a person behind. The hash is computed here; the store
    returns the same one for a new document id.
    """

    def __init__(self, store: TextStore, lscb: str, case_id: UUID) -> None:
        self.store, self.lscb, self.case_id = store, lscb, case_id
        self._rows: list[tuple[UUID, str, str]] = []
        self._written: list[UUID] = []

    def ref(self, kind: str, text: str) -> DocumentRef:
        document_id = uuid4()
        self._rows.append((document_id, kind, text))
        return DocumentRef(document_id=document_id, sha256=text_sha256(text))

    def optional(self, kind: str, text: str | None) -> DocumentRef | None:
        return None if text is None else self.ref(kind, text)

    def id_only(self, kind: str, text: str | None) -> UUID | None:
        """A short reference by id alone: its hash could be reversed by guessing."""
        return None if text is None else self.ref(kind, text).document_id

    def flush(self) -> None:
        for document_id, kind, text in self._rows:
            self.store.put_document(document_id, self.lscb, self.case_id, kind, text)
        self._written = [document_id for document_id, _, _ in self._rows]
        self._rows.clear()

    def discard(self) -> None:
        """Remove the texts flushed for an event that was then not saved (another writer won the race).

        Their ids are new for this command, so no recorded event references them."""
        for document_id in self._written:
            self.store.discard(document_id, self.lscb)
        self._written = []


class Texts:
    """Keep and read the texts of one service's erasable store."""

    def __init__(self, store: TextStore) -> None:
        self.store = store

    def pending(self, lscb: str, case_id: UUID) -> PendingTexts:
        return PendingTexts(self.store, lscb, case_id)

    def read(self, lscb: str, ref: DocumentRef | UUID | None) -> str | None:
        """The text, or None when there is none or it was erased (a changed text also reads as None)."""
        if ref is None:
            return None
        document_id = ref.document_id if isinstance(ref, DocumentRef) else ref
        text = self.store.get(document_id, lscb)
        if text is not None and isinstance(ref, DocumentRef) and text_sha256(text) != ref.sha256:
            return None
        return text


class MemoryTextStore:
    """An in-memory `TextStore` (unit tests, examples); `erase` simulates erasure."""

    def __init__(self) -> None:
        self.rows: dict[UUID, tuple[str, str]] = {}

    def put_document(self, document_id: UUID, lscb: str, case_id: UUID, kind: str, body: str) -> str:
        self.rows.setdefault(document_id, (lscb, body))
        return text_sha256(self.rows[document_id][1])

    def get(self, detail_id: UUID, lscb: str) -> str | None:
        row = self.rows.get(detail_id)
        return row[1] if row is not None and row[0] == lscb else None

    def erase(self, detail_id: UUID) -> None:
        self.rows.pop(detail_id, None)

    def discard(self, detail_id: UUID, lscb: str) -> None:
        if detail_id in self.rows and self.rows[detail_id][0] == lscb:
            del self.rows[detail_id]
