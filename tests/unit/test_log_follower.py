"""A log follower moves past internal notifications (case watches) even when a whole page holds no event, and
a run of them once read is not read again by a reader that looks again from before it."""

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


async def test_a_run_of_watches_once_read_is_skipped_by_every_later_reader() -> None:
    app, head = _log_with_watches_first()
    first, _ = read_log_page(app, 0, head)
    selected: list[int] = []
    select = app.recorder.select_notifications

    def counting_select(*args: object, **kwargs: object) -> object:
        result = select(*args, **kwargs)  # type: ignore[arg-type]
        selected.extend(n.id for n in result)  # type: ignore[attr-defined]
        return result

    app.recorder.select_notifications = counting_select  # type: ignore[method-assign]
    again, last = read_log_page(app, 0, 1)
    assert again == first[:1] and last == first[0].notification_id  # straight to the first event
    assert selected == [first[0].notification_id]  # the three watches before it were not read again
