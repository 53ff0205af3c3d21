"""A log follower moves past internal notifications (case watches) even when a whole page holds no event."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from lif.delivery.follow import LogFollower
from lif.delivery.log import read_log_page
from lif.delivery.parking import Parking, Pending
from services.orchestration.application import OrchestrationApplication
from tests.orchestration_samples import Case, Feed, popo_app


class RecordingParking:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    async def deliver_many(self, items: Sequence[Pending]) -> None:
        self.batches.append([item.position for item in items])


def _log_with_watches_first() -> tuple[OrchestrationApplication, int]:
    """Orchestration's log: three cases that need no review (a watch each), then one that opens a review."""
    app = popo_app()
    feed = Feed(app)
    for _ in range(3):
        feed(Case().recommendation(statutory=False, review_type="no_review"))
    feed(Case().recommendation())
    return app, app.recorder.max_notification_id() or 0


async def test_a_page_of_only_watches_moves_the_follower_on_to_the_events_after_it() -> None:
    app, head = _log_with_watches_first()
    assert read_log_page(app, 0, 2) == ([], 2)
    parking = RecordingParking()

    async def position(_: str) -> int:
        return 0

    follower = LogFollower(app, "orchestration", cast(Parking, parking), position, batch_size=2)
    delivered = await follower.catch_up()
    assert delivered == 2 and parking.batches and parking.batches[-1][-1] == head
