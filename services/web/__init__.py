"""The board's web service: GOV.UK Design System pages over the public HTTP API, with the person's token."""
