"""The notifications service: obligations and their deadlines, durable reminders, and outbound messages."""
